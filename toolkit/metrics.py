"""Unread and 24-hour-window metrics: pure, vectorised functions of a unified frame.

``as_of`` is the moment a question is asked about. It defaults to the snapshot's own
time, ``df["fetched_at"].max()`` (the wall clock only for an empty frame), and accepts a
string, ``datetime`` or ``Timestamp``; naive means UTC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._frames import (
    duration,
    group_columns,
    known_true,
    positive_duration,
    require_columns,
    resolve_as_of,
    schema_column,
)
from ._limits import AT_RISK_WITHIN

#: Categories of :func:`window_bucket`, in order.
BUCKETS = ["closed", "<1h", "1-4h", "4-12h", "12-24h"]
BUCKET_DTYPE = pd.CategoricalDtype(BUCKETS, ordered=True)
_HOUR = pd.Timedelta(hours=1)


def window_remaining(df: pd.DataFrame, as_of: Any = None) -> pd.Series:
    """Time left in each reply window at ``as_of``.

    Parameters
    ----------
    df : pandas.DataFrame
        A unified frame (needs ``window_open`` and ``window_expires_at``).
    as_of : str, datetime or Timestamp, optional
        Defaults to ``df["fetched_at"].max()``.

    Returns
    -------
    pandas.Series
        ``timedelta64``: ``window_expires_at - as_of`` clipped at zero for an open window;
        ``Timedelta(0)`` for a closed window; ``NaT`` where the window is open with an
        unknown expiry, or where it is unknown whether it is open.

    Examples
    --------
    >>> remaining = window_remaining(df, as_of="2026-09-29T12:00Z")  # doctest: +SKIP
    """
    require_columns(df, ["window_open", "window_expires_at"])
    moment = resolve_as_of(df, as_of)
    is_open = schema_column(df, "window_open")
    expires = pd.to_datetime(df["window_expires_at"], utc=True)
    left = (expires - moment).clip(lower=pd.Timedelta(0))
    zero = pd.Series(pd.Timedelta(0), index=df.index, dtype=left.dtype)
    result = left.where(is_open.fillna(False).astype(bool), zero)
    return result.where(is_open.notna(), pd.NaT).rename("window_remaining")


def window_bucket(df: pd.DataFrame, as_of: Any = None) -> pd.Series:
    """Each window's time left as an ordered category.

    Returns
    -------
    pandas.Series
        Ordered categorical with categories exactly
        ``["closed", "<1h", "1-4h", "4-12h", "12-24h"]``: closed when the window is
        closed or r <= 0; ``"<1h"`` when 0 < r < 1h; ``"1-4h"`` when 1h <= r < 4h;
        ``"4-12h"`` when 4h <= r < 12h; ``"12-24h"`` when r >= 12h; ``<NA>`` when
        open with an unknown expiry.
    """
    remaining = window_remaining(df, as_of)
    hours = remaining / _HOUR
    values = hours.to_numpy(dtype=float, na_value=np.nan)
    codes = np.select(
        [np.isnan(values), values <= 0, values < 1, values < 4, values < 12],
        [-1, 0, 1, 2, 3],
        default=4,
    )
    return pd.Series(pd.Categorical.from_codes(codes, dtype=BUCKET_DTYPE), index=df.index,
                     name="window_bucket")


def _grouped(work: pd.DataFrame, source: pd.DataFrame, columns: list[str]) -> Any:
    """``work`` grouped by ``columns`` of ``source`` (same index): groups present only, missing kept."""
    keyed = work.assign(**{column: source[column] for column in columns})
    return keyed.groupby(columns, observed=True, dropna=False, sort=True)


def _finish_index(result: pd.DataFrame, by: Any) -> pd.DataFrame:
    if by is None:
        result.index = pd.Index(["all"], name=None)
    return result


def unread_summary(df: pd.DataFrame, by: str | Sequence[str] | None = "provider") -> pd.DataFrame:
    """How many conversations wait on us, per group.

    Parameters
    ----------
    df : pandas.DataFrame
        A unified frame.
    by : str, list of str or None, default "provider"
        Column(s) to group by; ``None`` for a single row labelled ``"all"``.

    Returns
    -------
    pandas.DataFrame
        One row per group present, columns ``conversations`` (int), ``unread_conversations``
        (int), ``unread_share`` (float, 0..1), ``unread_messages`` (Int64: the sum of
        ``unread_count``; ``<NA>`` where no row of the group knows its count).
    """
    require_columns(df, ["has_unread", "unread_count"])
    columns = group_columns(df, by)
    work = pd.DataFrame({
        "conversations": np.ones(len(df), dtype="int64"),
        "unread_conversations": known_true(df, "has_unread").astype("int64"),
        "unread_messages": df["unread_count"].astype("Int64"),
    }, index=df.index)
    if columns is None:
        totals = pd.DataFrame({
            "conversations": [len(df)],
            "unread_conversations": [int(work["unread_conversations"].sum())],
            "unread_messages": pd.array([work["unread_messages"].sum(min_count=1)], dtype="Int64"),
        })
    else:
        grouped = _grouped(work, df, columns)
        totals = pd.DataFrame({
            "conversations": grouped["conversations"].sum().astype("int64"),
            "unread_conversations": grouped["unread_conversations"].sum().astype("int64"),
            "unread_messages": grouped["unread_messages"].sum(min_count=1).astype("Int64"),
        })
    totals.insert(2, "unread_share", _share(totals["unread_conversations"], totals["conversations"]))
    return _finish_index(totals, by)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    whole_float = whole.astype("float64")
    return (part.astype("float64") / whole_float.where(whole_float > 0)).astype("float64")


def expiry_summary(df: pd.DataFrame, by: str | Sequence[str] | None = "provider",
                   as_of: Any = None) -> pd.DataFrame:
    """How many windows fall in each :func:`window_bucket`, per group.

    Returns
    -------
    pandas.DataFrame
        One row per group present, one ``int64`` column per bucket in category order
        (rows whose bucket is unknown are not counted).
    """
    columns = group_columns(df, by)
    buckets = window_bucket(df, as_of)
    if columns is None:
        counts = buckets.value_counts(sort=False).reindex(BUCKETS, fill_value=0)
        result = pd.DataFrame([counts.to_numpy(dtype="int64")], columns=BUCKETS)
        return _finish_index(result, by)
    keys = [df[column] for column in columns]
    table = pd.crosstab(keys, buckets, dropna=False) if len(df) else None
    if table is None:
        index = (pd.MultiIndex.from_arrays([[] for _ in columns], names=columns) if len(columns) > 1
                 else pd.Index([], name=columns[0]))
        return pd.DataFrame({bucket: pd.Series([], dtype="int64") for bucket in BUCKETS}, index=index)
    table = table.reindex(columns=BUCKETS, fill_value=0)
    table.columns = pd.Index(BUCKETS, name=None)
    present = df.groupby(columns, observed=True, dropna=False).size().index
    table = table.reindex(present, fill_value=0)
    return table.astype("int64")


def at_risk(df: pd.DataFrame, within: Any = AT_RISK_WITHIN, as_of: Any = None) -> pd.DataFrame:
    """Conversations with unread messages whose open window closes within ``within``.

    Parameters
    ----------
    within : str or Timedelta, default "2h"
        Keeps rows with 0 < remaining <= within.

    Returns
    -------
    pandas.DataFrame
        Those rows, soonest first, with a ``window_remaining`` column added.

    Raises
    ------
    ValueError
        ``within`` is not a positive duration (a bare number, which has no unit, included).
    """
    require_columns(df, ["has_unread", "window_open"])
    limit = positive_duration(within, "within")
    remaining = window_remaining(df, as_of)
    mask = (known_true(df, "has_unread") & known_true(df, "window_open") & remaining.notna()
            & (remaining > pd.Timedelta(0)) & (remaining <= limit))
    result = df.loc[mask].copy()
    result["window_remaining"] = remaining[mask]
    return result.sort_values("window_remaining", kind="stable")


#: Intervals :func:`expiry_timeline` makes at most: a week by the minute, with room.
MAX_INTERVALS = 100_000


def expiry_timeline(df: pd.DataFrame, as_of: Any = None, freq: Any = "1h", horizon: Any = "24h") -> pd.Series:
    """How many open windows close in each interval after ``as_of``.

    Returns
    -------
    pandas.Series
        ``int64`` counts indexed by interval start ``as_of + k*freq`` (``DatetimeIndex``,
        UTC), one entry per interval ``[as_of + k*freq, as_of + (k+1)*freq)`` that starts
        before ``as_of + horizon``, zeros included.

    Raises
    ------
    ValueError
        A ``freq`` or ``horizon`` that is no duration (a bare number such as ``"2"``
        included), a ``freq`` that is not positive, a negative ``horizon``, or more than
        :data:`MAX_INTERVALS` intervals.
    """
    require_columns(df, ["window_open", "window_expires_at"])
    moment = resolve_as_of(df, as_of)
    step = positive_duration(freq, "freq")
    span = duration(horizon, "horizon")
    if span < pd.Timedelta(0):
        raise ValueError("horizon must not be negative")
    intervals = math.ceil(span / step)
    if intervals > MAX_INTERVALS:
        raise ValueError(f"freq {freq!r} cuts horizon {horizon!r} into {intervals:,} intervals, more than "
                         f"{MAX_INTERVALS:,}: choose a longer freq (such as '1h') or a shorter horizon")
    starts = pd.DatetimeIndex(moment + step * np.arange(intervals), name="interval_start")
    if intervals == 0:
        return pd.Series([], index=starts, dtype="int64", name="closing")
    expires = pd.to_datetime(df["window_expires_at"], utc=True)
    offset = (expires - moment)[known_true(df, "window_open") & expires.notna()]
    position = np.floor(offset / step).to_numpy(dtype=float, na_value=np.nan)
    position = position[(position >= 0) & (position < intervals)].astype(int)
    counts = np.bincount(position, minlength=intervals).astype("int64")
    return pd.Series(counts, index=starts, name="closing")


# -- beyond the contract: what an operations lead asks next ---------------------------------


def unread_wait(df: pd.DataFrame, as_of: Any = None) -> pd.Series:
    """How long each unread conversation has waited since its last message.

    Returns
    -------
    pandas.Series
        ``timedelta64``: ``as_of - last_message_at`` (at least zero) for unread rows;
        ``NaT`` for the others and where the last message time is unknown.
    """
    require_columns(df, ["has_unread", "last_message_at"])
    return _waited(df, resolve_as_of(df, as_of))


def _waited(df: pd.DataFrame, moment: pd.Timestamp | pd.Series) -> pd.Series:
    """:func:`unread_wait` as of ``moment``: one instant, or one per row (a Series on ``df``'s index)."""
    waited = (moment - pd.to_datetime(df["last_message_at"], utc=True)).clip(lower=pd.Timedelta(0))
    return waited.where(known_true(df, "has_unread"), pd.NaT).rename("unread_wait")


def wait_percentiles(df: pd.DataFrame, by: str | Sequence[str] | None = "provider", as_of: Any = None,
                     percentiles: Sequence[float] = (0.5, 0.9, 0.99)) -> pd.DataFrame:
    """Percentiles of :func:`unread_wait` in hours, per group.

    Returns
    -------
    pandas.DataFrame
        One row per group, a ``count`` column (unread rows with a known wait) and one
        float column per percentile, named ``p50``, ``p90``, ...; ``NaN`` where a group
        has no unread conversation.
    """
    return _wait_table(df, unread_wait(df, as_of), by, percentiles)


def _wait_table(df: pd.DataFrame, waits: pd.Series, by: str | Sequence[str] | None,
                percentiles: Sequence[float]) -> pd.DataFrame:
    """:func:`wait_percentiles` of ``waits`` (a timedelta Series on ``df``'s index), however measured."""
    for value in percentiles:
        if not 0 <= value <= 1:
            raise ValueError(f"percentiles must lie in 0..1, got {value}")
    hours = waits / _HOUR
    names = [f"p{round(value * 100, 1):g}" for value in percentiles]
    columns = group_columns(df, by)
    if columns is None:
        known = hours.dropna()
        row = {"count": int(known.size), **{name: (float(known.quantile(q)) if known.size else np.nan)
                                             for name, q in zip(names, percentiles, strict=True)}}
        return _finish_index(pd.DataFrame([row]), by)
    work = pd.DataFrame({"hours": hours.astype("float64")}, index=df.index)
    grouped = _grouped(work, df, columns)["hours"]
    result = pd.DataFrame({"count": grouped.count().astype("int64")})
    for name, q in zip(names, percentiles, strict=True):
        result[name] = grouped.quantile(q).astype("float64")
    return result


def closed_with_unread(df: pd.DataFrame, as_of: Any = None) -> pd.DataFrame:
    """Unread conversations whose window has closed: a reply now needs a paid template.

    Returns
    -------
    pandas.DataFrame
        Those rows, longest-waiting first, with an ``unread_wait`` column added.
    """
    buckets = window_bucket(df, as_of)
    mask = known_true(df, "has_unread") & (buckets == "closed").fillna(False).astype(bool)
    result = df.loc[mask].copy()
    result["unread_wait"] = unread_wait(df, as_of)[mask]
    return result.sort_values("unread_wait", ascending=False, kind="stable", na_position="last")


def closing_share(df: pd.DataFrame, within: Any = "4h", by: str | Sequence[str] | None = "provider",
                  as_of: Any = None) -> pd.DataFrame:
    """Share of open windows (with a known expiry) that close within ``within``.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``open_windows`` (int), ``closing`` (int), ``closing_share``
        (float, ``NaN`` without open windows).
    """
    limit = positive_duration(within, "within")
    remaining = window_remaining(df, as_of)
    open_known = known_true(df, "window_open") & remaining.notna() & (remaining > pd.Timedelta(0))
    work = pd.DataFrame({"open_windows": open_known.astype("int64"),
                         "closing": (open_known & (remaining <= limit)).astype("int64")}, index=df.index)
    columns = group_columns(df, by)
    if columns is None:
        result = pd.DataFrame([work.sum().astype("int64").to_dict()])
    else:
        result = _grouped(work, df, columns)[["open_windows", "closing"]].sum().astype("int64")
    result["closing_share"] = _share(result["closing"], result["open_windows"])
    return _finish_index(result, by)


def takeover_backlog(df: pd.DataFrame, by: str | Sequence[str] | None = "channel_id") -> pd.DataFrame:
    """Conversations handed to a human (Wassist's human takeover), per group.

    Returns
    -------
    pandas.DataFrame
        One row per group that has any: ``takeovers`` (int), ``unread_takeovers`` (int),
        ``open_windows`` (int) among them.
    """
    require_columns(df, ["is_human_takeover", "has_unread", "window_open"])
    taken = known_true(df, "is_human_takeover")
    subset = df.loc[taken]
    work = pd.DataFrame({
        "takeovers": np.ones(len(subset), dtype="int64"),
        "unread_takeovers": known_true(subset, "has_unread").astype("int64"),
        "open_windows": known_true(subset, "window_open").astype("int64"),
    }, index=subset.index)
    columns = group_columns(df, by)
    if columns is None:
        return _finish_index(pd.DataFrame([work.sum().astype("int64").to_dict()] if len(work) else
                                          [{"takeovers": 0, "unread_takeovers": 0, "open_windows": 0}]), by)
    return _grouped(work, subset, columns).sum().astype("int64")
