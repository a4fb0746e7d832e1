"""What the public frame functions share: checking a frame, and reading their arguments.

Metrics, trends, exports, reports and history all take a unified frame and moments such
as ``as_of``; they check and read them here, so that every public function answers bad
input with the same typed error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from ._schema import SCHEMA


def utc_instant(value: Any, name: str) -> pd.Timestamp:
    """A string, date, datetime or Timestamp as a UTC Timestamp; naive means UTC.

    The one reader of moments the user gives (``as_of``, ``since``, ``last_message_after``, ...).

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime or pandas.Timestamp
    name : str
        The argument's name, for the error message.

    Raises
    ------
    ValueError
        For a value of any other type, or one that does not read as a date-time; the
        message names ``name``.

    Examples
    --------
    >>> utc_instant("2026-09-29 12:00", "as_of")
    Timestamp('2026-09-29 12:00:00+0000', tz='UTC')
    """
    if not isinstance(value, (str, date, datetime, pd.Timestamp)):
        raise ValueError(f"{name} must be a string, date, datetime or Timestamp, got {type(value).__name__}")
    stamp = _read(pd.Timestamp, value, name, "a date-time")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def duration(value: Any, name: str) -> pd.Timedelta:
    """A duration such as ``"2h"`` or a ``Timedelta``.

    Raises
    ------
    ValueError
        For a value that does not read as a duration; the message names ``name``.
    """
    return _read(pd.Timedelta, value, name, "a duration such as '2h'")


def _read(reader: Callable[[Any], Any], value: Any, name: str, what: str) -> Any:
    """``reader(value)``, with ``ValueError`` naming ``name`` for anything unreadable or missing."""
    try:
        result = reader(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: cannot read {value!r} as {what}") from exc
    if pd.isna(result):
        raise ValueError(f"{name}: cannot read {value!r} as {what}")
    return result


def resolve_as_of(df: pd.DataFrame, as_of: Any) -> pd.Timestamp:
    """``as_of`` as a UTC Timestamp; ``None`` means the frame's own time, ``fetched_at.max()``
    (the wall clock only for a frame without any)."""
    if as_of is None:
        latest = df["fetched_at"].max() if "fetched_at" in df and len(df) else pd.NaT
        return pd.Timestamp.now(tz="UTC") if pd.isna(latest) else pd.Timestamp(latest).tz_convert("UTC")
    return utc_instant(as_of, "as_of")


def require_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Check that ``df`` is a DataFrame holding ``columns``.

    Raises
    ------
    TypeError
        When ``df`` is not a DataFrame.
    KeyError
        Naming the missing columns.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a DataFrame in the unified schema, got {type(df).__name__}")
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise KeyError(f"the frame lacks unified column(s) {missing}; "
                       "load it with a toolkit loader or tk.read_csv")


def known_true(df: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column of the unified schema with missing as False ("is it known to be true")."""
    return df[column].astype(SCHEMA[column]).fillna(False).astype(bool)


def group_columns(df: pd.DataFrame, by: Any) -> list[str] | None:
    """``by`` (a column name or several) as a list of columns of ``df``; ``None`` for no grouping."""
    if by is None:
        return None
    columns = [by] if isinstance(by, str) else list(by)
    require_columns(df, columns)
    return columns
