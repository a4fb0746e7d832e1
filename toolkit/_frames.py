"""What the public frame functions share: checking a frame, and reading their arguments.

Metrics, trends, exports, reports and history all take a unified frame and moments such
as ``as_of``; they check and read them here, so that every public function answers bad
input with the same typed error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def contains(column: pd.Series, values: Iterable[Any]) -> np.ndarray:
    """Whether each value of a text ``column`` is among ``values``; missing values are not.

    What ``column.isin(values)`` answers, in one pass of Arrow's hash lookup: pandas'
    own ``isin`` on Arrow-backed text converts every one of ``values`` to a scalar first,
    which costs more than the lookup itself for thousands of ids.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        candidates = pa.array(values, type=pa.large_string()).drop_null()
    else:
        candidates = pa.array([value for value in values if isinstance(value, str)], type=pa.large_string())
    if not len(candidates) or not len(column):
        return np.zeros(len(column), dtype=bool)
    found = pc.is_in(pa.array(column.astype("str"), type=pa.large_string()), value_set=candidates)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def most_recent_first(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` ordered as a full pull lists it: latest ``last_message_at`` first, ties by id.

    Conversations without activity come last; among equal times, rows without an id come
    after the others. The same order as ``sort_values(["last_message_at",
    "conversation_id"], ascending=[False, True], na_position="last", kind="stable")``, at
    a fraction of its cost (see :func:`recency_order`).
    """
    if len(frame) < 2:
        return frame
    return frame.take(recency_order(frame["last_message_at"], frame["conversation_id"]))


def recency_order(at: pd.Series, ids: pd.Series) -> np.ndarray:
    """Positions that put rows in :func:`most_recent_first` order, from their times and ids.

    The times are sorted as integers, and only rows that share a time are ordered by their
    ids (text comparison is the costly part, and ties are few).
    """
    if len(at) < 2:
        return np.arange(len(at))
    if not isinstance(at.dtype, pd.DatetimeTZDtype):
        at = pd.to_datetime(at, utc=True)
    ticks = at.array.asi8  # NaT reads as the smallest integer
    missing = at.isna().to_numpy()
    # Negated for latest first; NaT mapped past every time, so it sorts last.
    key = np.where(missing, np.iinfo(np.int64).max, -np.where(missing, 0, ticks))
    order = np.argsort(key, kind="stable")
    ordered_key = key[order]
    tied = ordered_key[1:] == ordered_key[:-1]
    if tied.sum() > len(order) // 8:
        # Ties everywhere (times to the minute, copies of rows): Arrow's two-key sort is cheaper.
        keys = pa.table({"at": pa.array(at), "id": pa.array(ids.astype("str"), type=pa.large_string())})
        return pc.sort_indices(keys, sort_keys=[("at", "descending"), ("id", "ascending")]).to_numpy()
    if tied.any():
        in_tie = np.zeros(len(order), dtype=bool)
        in_tie[1:] |= tied
        in_tie[:-1] |= tied
        spots = np.flatnonzero(in_tie)
        rows = order[spots]
        tied_ids = ids.take(rows).to_numpy(dtype=object, na_value=None)
        no_id = np.fromiter((value is None for value in tied_ids), dtype=bool, count=len(tied_ids))
        ranks = np.unique(np.where(no_id, "", tied_ids).astype(str), return_inverse=True)[1]
        # lexsort is stable and sorts by its last key first: time (already grouped), then id.
        order[spots] = rows[np.lexsort((ranks, no_id, ordered_key[spots]))]
    return order
