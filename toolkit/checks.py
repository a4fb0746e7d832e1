"""Data checks: does a unified frame look like something a real inbox could hold?

Live APIs send odd data (clocks that disagree, windows that outlive the rules), so the
loaders never refuse a row for it. :func:`check_conversations` says what looks wrong and
where, one row per rule, so an analyst can decide what to trust before drawing charts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._frames import duration, known_true, require_columns, schema_column
from ._schema import SCHEMA

__all__ = ["check_conversations", "CHECKS"]

_WINDOW = pd.Timedelta(hours=24)
#: E.164: a full international number has at most 15 digits; none is shorter than 7
#: (country code included), so anything shorter is a typo, an extension or a short code.
_SHORTEST_PHONE, _LONGEST_PHONE = 7, 15


def _times(df: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(df[column], utc=True)


def _clock_skew(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    return _times(df, "last_message_at") > _times(df, "fetched_at") + slack


def _window_beyond_24h(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    # The window runs 24 h from the customer's last message, and no message is later than
    # the last message: it can close at last_message_at + 24 h at the latest.
    latest_close = _times(df, "last_message_at") + _WINDOW + slack
    too_late = _times(df, "window_expires_at") > latest_close
    open_too_long = known_true(df, "window_open") & (_times(df, "fetched_at") > latest_close)
    return too_late | open_too_long


def _open_disagrees_with_expiry(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    is_open = schema_column(df, "window_open")
    expires, fetched = _times(df, "window_expires_at"), _times(df, "fetched_at")
    open_but_expired = is_open.fillna(False).astype(bool) & (expires <= fetched - slack)
    closed_but_running = (~is_open).fillna(False).astype(bool) & (expires > fetched + slack)
    return open_but_expired | closed_but_running


def _unread_disagrees_with_count(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    flag = schema_column(df, "has_unread")
    count = df["unread_count"].astype("Int64")
    return ((count > 0) != flag).fillna(False).astype(bool) | (count < 0).fillna(False).astype(bool)


def _identity(df: pd.DataFrame) -> list[str]:
    # A history holds each conversation once per snapshot.
    return ["provider", "conversation_id"] + (["snapshot_at"] if "snapshot_at" in df.columns else [])


def _duplicated_ids(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    known = df["conversation_id"].notna()
    return df.duplicated(_identity(df), keep="first") & known


def _missing_ids(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    ids = df["conversation_id"].astype(SCHEMA["conversation_id"])
    return (ids.isna() | (ids.str.strip() == "")).fillna(True).astype(bool)


def _digit_count(df: pd.DataFrame) -> pd.Series:
    phones = df["contact_phone"].astype(SCHEMA["contact_phone"])
    return phones.str.count(r"\d").astype("Int64")


def _short_phones(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    return (_digit_count(df) < _SHORTEST_PHONE).fillna(False).astype(bool)


def _long_phones(df: pd.DataFrame, slack: pd.Timedelta) -> pd.Series:
    return (_digit_count(df) > _LONGEST_PHONE).fillna(False).astype(bool)


_Rule = Callable[[pd.DataFrame, pd.Timedelta], pd.Series]

#: Every rule: name -> (what it flags, the columns it reads, the test).
CHECKS: dict[str, tuple[str, tuple[str, ...], _Rule]] = {
    "last_message_after_pull": (
        "last message later than the pull that saw it (clock skew)",
        ("last_message_at", "fetched_at"), _clock_skew),
    "window_beyond_24h": (
        "reply window closing (or open) more than 24 h after the last message",
        ("last_message_at", "window_open", "window_expires_at", "fetched_at"), _window_beyond_24h),
    "window_open_vs_expiry": (
        "window_open disagrees with window_expires_at at fetched_at",
        ("window_open", "window_expires_at", "fetched_at"), _open_disagrees_with_expiry),
    "unread_flag_vs_count": (
        "has_unread disagrees with unread_count (or the count is negative)",
        ("has_unread", "unread_count"), _unread_disagrees_with_count),
    "duplicated_id": (
        "the same conversation more than once (per provider, and per snapshot in a history)",
        ("provider", "conversation_id"), _duplicated_ids),
    "missing_id": (
        "no conversation id", ("conversation_id",), _missing_ids),
    "phone_too_short": (
        f"contact phone with fewer than {_SHORTEST_PHONE} digits", ("contact_phone",), _short_phones),
    "phone_too_long": (
        f"contact phone with more than {_LONGEST_PHONE} digits (longer than E.164 allows)",
        ("contact_phone",), _long_phones),
}


def check_conversations(df: pd.DataFrame, *, tolerance: Any = "1min", examples: int = 3) -> pd.DataFrame:
    """Check a unified frame (a pull, a CSV, or a history of snapshots) for data that cannot be right.

    Nothing is changed or dropped: the result only says what looks wrong and where.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame in the unified schema; a history from :func:`toolkit.load_snapshots` is
        checked snapshot by snapshot (a conversation appears once per snapshot).
    tolerance : str or Timedelta, default "1min"
        Clock difference allowed between the provider's server and this machine before
        a time counts as wrong. Wassist sends seconds left, not an expiry, so its
        ``window_expires_at`` is only as exact as the response's travel time.
    examples : int, default 3
        How many offending conversation ids to show per rule.

    Returns
    -------
    pandas.DataFrame
        One row per rule (index ``check``, in the order of :data:`CHECKS`): ``description``,
        ``offending_rows`` (int64, 0 when the rule holds everywhere) and ``examples``
        (a list of up to ``examples`` conversation ids, ``"<row N>"`` where the id is
        missing).

    Raises
    ------
    TypeError
        When ``df`` is not a DataFrame.
    KeyError
        When a column a rule needs is missing.
    ValueError
        For a ``tolerance`` that is not a duration or ``examples`` below zero.

    Examples
    --------
    >>> findings = tk.check_conversations(df)  # doctest: +SKIP
    >>> findings[findings["offending_rows"] > 0]  # doctest: +SKIP
    """
    require_columns(df, sorted({column for _, columns, _ in CHECKS.values() for column in columns}))
    slack = duration(tolerance, "tolerance")
    if slack < pd.Timedelta(0):
        raise ValueError("tolerance must not be negative")
    if not isinstance(examples, (int, np.integer)) or isinstance(examples, bool) or examples < 0:
        raise ValueError(f"examples must be a whole number of at least 0, got {examples!r}")
    ids = df["conversation_id"].astype(SCHEMA["conversation_id"]).astype(object).to_numpy()
    missing = np.asarray(_missing_ids(df, slack), dtype=bool)
    labels = np.where(missing, np.array([f"<row {n}>" for n in range(len(df))], dtype=object), ids)
    rows = []
    for name, (description, _, rule) in CHECKS.items():
        offending = np.asarray(rule(df, slack), dtype=bool)
        rows.append({"check": name, "description": description, "offending_rows": int(offending.sum()),
                     "examples": list(dict.fromkeys(labels[offending]))[:examples]})
    result = pd.DataFrame(rows).set_index("check")
    result["description"] = result["description"].astype("string")
    result["offending_rows"] = result["offending_rows"].astype("int64")
    return result
