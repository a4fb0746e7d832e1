"""What the public frame functions share: checking a frame, and reading their arguments.

Metrics, trends, exports, reports and history all take a unified frame and moments such
as ``as_of``; they check and read them here, so that every public function answers bad
input with the same typed error.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._schema import SCHEMA, SNAPSHOT_COLUMN, cast_column


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
        For a value of any other type, or one that does not read as a date-time (``"now"``
        reads as this moment; ``"today"`` is refused); the message names ``name``.

    Examples
    --------
    >>> utc_instant("2026-09-29 12:00", "as_of")
    Timestamp('2026-09-29 12:00:00+0000', tz='UTC')
    """
    if not isinstance(value, (str, date, datetime, pd.Timestamp)):
        raise ValueError(f"{name} must be a string, date, datetime or Timestamp, got {type(value).__name__}")
    # pandas reads these words as the machine's local wall clock, without a zone: read as UTC,
    # they would be off by the machine's offset. "now" is this moment; "today" could be
    # midnight or now, so it is asked for plainly.
    word = value.strip().lower() if isinstance(value, str) else None
    if word == "now":
        return pd.Timestamp.now(tz="UTC")
    if word == "today":
        raise ValueError(f"{name}: 'today' could mean midnight or now; give a date ('2026-09-29') or 'now'")
    stamp = _read(pd.Timestamp, value, name, "a date-time")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def duration(value: Any, name: str) -> pd.Timedelta:
    """A duration such as ``"2h"`` or a ``Timedelta``.

    A bare number is refused, written as text too: pandas would read ``2`` as two
    nanoseconds, where a caller meant hours or seconds.

    Raises
    ------
    ValueError
        For a value that does not read as a duration, or a bare number; the message names ``name``.
    """
    if isinstance(value, (int, float, np.integer, np.floating)) or unitless(value):  # bool included
        raise ValueError(f"{name} must be a duration with its unit, such as '2h' or '90min', got {value!r}")
    return _read(lambda given: pd.Timedelta(units_spelled(given) if isinstance(given, str) else given),
                 value, name, "a duration such as '2h'")


def unitless(value: Any) -> bool:
    """Whether ``value`` is text holding a bare number (``"2"``, ``" 1.5 "``)."""
    return isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", value) is not None


#: Units pandas 3 reads in one case but warns that pandas 4 will not: the case it keeps.
_UNITS_RESPELLED = {"d": "D", "w": "W", "H": "h", "S": "s"}


def units_spelled(text: str) -> str:
    """``text`` with each unit in the case pandas 4 keeps: ``"1d"``, ``"4H"``, ``"1d12h"``,
    ``"d"``, ``"w-mon"`` read by pandas 3 with a warning that pandas 4 will not (ISO 8601,
    ``"P1DT2H"``, as given)."""
    bare = text.strip()
    if bare in _UNITS_RESPELLED:
        return text.replace(bare, _UNITS_RESPELLED[bare])
    if bare.lstrip("+-").upper().startswith("P"):
        return text
    # A week anchored on a day ("w-mon") is read only as "W-MON" by pandas 4.
    text = re.sub(r"(^\s*|\d\s*)[wW]-([A-Za-z]{3})\b",
                  lambda week: f"{week.group(1)}W-{week.group(2).upper()}", text)
    return re.sub(r"(^\s*|\d\s*)([dwHS])(?![A-Za-z])",
                  lambda unit: unit.group(1) + _UNITS_RESPELLED[unit.group(2)], text)


def positive_duration(value: Any, name: str) -> pd.Timedelta:
    """:func:`duration`, refusing zero and negative durations (a window that closes within
    no time at all, say)."""
    span = duration(value, name)
    if span <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration such as '2h', got {value!r}")
    return span


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
        if pd.isna(latest):
            return pd.Timestamp.now(tz="UTC")
        # Naive times are UTC, as everywhere in the toolkit (a frame whose zones were dropped
        # for pandas' own to_excel, say).
        latest = pd.Timestamp(latest)
        return latest.tz_localize("UTC") if latest.tzinfo is None else latest.tz_convert("UTC")
    return utc_instant(as_of, "as_of")


#: The column the trends label each row's period with while they work (``toolkit.trends``).
WORKING_PERIOD = "_period"


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, named_by: str | None = None) -> None:
    """Check that ``df`` is a DataFrame holding ``columns``.

    ``named_by`` is the argument a caller named the columns with (``"by"``, say): the error
    then says that argument names columns the frame lacks, not that the frame lacks the
    toolkit's own.

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
    if missing and named_by is not None:
        # KeyError, as pandas' own groupby raises; the message says it is the argument's columns.
        # The column a trend adds for its own work is not the frame's to name.
        own = [str(column) for column in df.columns if column != WORKING_PERIOD]
        raise KeyError(f"{named_by} names column(s) the frame does not have: {missing}; it has {own}")
    if missing:
        how = ("a history of snapshots: load it with tk.load_snapshots" if SNAPSHOT_COLUMN in missing
               else "load it with a toolkit loader or tk.read_csv")
        raise KeyError(f"the frame lacks unified column(s) {missing}; {how}")
    doubled = [column for column in dict.fromkeys(columns) if (df.columns == column).sum() > 1]
    if doubled:
        raise ValueError(f"the frame has more than one column named {doubled}: keep one of each "
                         "(frames put side by side with pd.concat(..., axis=1) repeat their columns)")


def schema_column(df: pd.DataFrame, column: str) -> pd.Series:
    """A column of the unified schema in its dtype, text read as conform reads it ("True",
    "yes": a frame read with ``pd.read_csv(..., dtype=str)``)."""
    return cast_column(df[column], SCHEMA[column], column)


def known_true(df: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column of the unified schema with missing as False ("is it known to be true")."""
    return schema_column(df, column).fillna(False).astype(bool)


def group_columns(df: pd.DataFrame, by: Any) -> list[str] | None:
    """``by`` (a column name or several) as a list of columns of ``df``; ``None`` for no grouping."""
    if by is None:
        return None
    if isinstance(by, str):
        columns = [by]
    elif isinstance(by, (list, tuple, pd.Index)) and all(isinstance(column, str) for column in by):
        columns = list(by)
    else:
        raise TypeError(f"by must be a column name or a list of them, got {by!r}")
    if not columns:
        raise ValueError("by names no column: give one or more (by='provider'), or by=None for one row "
                         "over everything")
    require_columns(df, columns, named_by="by")
    shared = [column for column in columns if column in df.index.names]
    if shared:
        raise ValueError(f"{shared} name both columns and index levels, so grouping by them is ambiguous: "
                         "drop the index first (df.reset_index(drop=True))")
    return columns


def contains(column: pd.Series, values: Iterable[Any], *, column_text: Any = None) -> np.ndarray:
    """Whether each value of a text ``column`` is among ``values``; missing values are not.

    What ``column.isin(values)`` answers, in one pass of Arrow's hash lookup: pandas'
    own ``isin`` on Arrow-backed text converts every one of ``values`` to a scalar first,
    which costs more than the lookup itself for thousands of ids. ``column_text``, the
    column as Arrow text (:attr:`RecencyKeys.text` of its rows), spares converting it again.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        candidates = pa.array(values, type=pa.large_string()).drop_null()
    else:
        candidates = pa.array([value for value in values if isinstance(value, str)], type=pa.large_string())
    if not len(candidates) or not len(column):
        return np.zeros(len(column), dtype=bool)
    text = id_text(column) if column_text is None else column_text
    found = pc.is_in(text, value_set=candidates)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def missing_count(column: pd.Series) -> int:
    """How many values of ``column`` are missing.

    Arrow arrays keep that count: reading it spares a pass over every value (a refresh asks
    it of the whole previous frame's text columns, where a mask of 100,000 rows would be made
    for one number).
    """
    values = column.array
    if isinstance(values, pd.arrays.ArrowExtensionArray):  # Arrow-backed text among them
        return int(values.__arrow_array__().null_count)
    return int(column.isna().sum())


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
    key = _recency_key(at)
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


@dataclass(frozen=True)
class RecencyKeys:
    """What :func:`interleaved_order` reads of a part's rows, made once for several uses.

    Attributes
    ----------
    key : ndarray of int64
        Times as integers that sort latest first, missing times last.
    text : pyarrow.LargeStringArray
        The ids as Arrow text (missing ones null).
    in_order : bool
        Whether the rows are in :func:`recency_order` already.
    """

    key: np.ndarray
    text: Any
    in_order: bool

    @classmethod
    def of(cls, at: pd.Series, ids: pd.Series) -> RecencyKeys | None:
        """The keys of rows with these times and ids; ``None`` when the times are not UTC moments."""
        if not isinstance(at.dtype, pd.DatetimeTZDtype):
            return None
        key, text = _recency_key(at), id_text(ids)
        return cls(key, text, _in_recency_order(key, text))


def interleaved_order(first_at: pd.Series, first_ids: pd.Series, second_at: pd.Series,
                      second_ids: pd.Series, second_rows: np.ndarray | None = None, *,
                      second_keys: RecencyKeys | None = None) -> np.ndarray | None:
    """:func:`recency_order` of two parts put end to end, each already in that order.

    Each row of the first part finds its place among the second's by a binary search on
    the times, and among the rows of the second that share its time by a binary search on
    their ids. Linear in the rows apart from those searches, where sorting them all again
    would cost several times more.

    Parameters
    ----------
    first_at, first_ids : Series
        The first part's times and ids.
    second_at, second_ids : Series
        The second part's, before ``second_rows`` picks from them.
    second_rows : ndarray of int, optional
        Increasing positions: the rows of the second part (default: all).
    second_keys : RecencyKeys, optional
        The second part's keys (before ``second_rows`` picks), when made already.

    Returns
    -------
    numpy.ndarray or None
        Positions into the two parts end to end (the second's counted after the first's),
        as :func:`recency_order` of the whole would give them; ``None`` when a part is not
        in order, which the caller then sorts whole.
    """
    first = RecencyKeys.of(first_at, first_ids)
    second = RecencyKeys.of(second_at, second_ids) if second_keys is None else second_keys
    # A part in order keeps it in any subset of its rows: the second is checked whole.
    if first is None or second is None or not (first.in_order and second.in_order):
        return None
    first_key, first_text = first.key, first.text
    second_key, second_text = second.key, second.text
    rows = np.arange(len(second_key)) if second_rows is None else np.asarray(second_rows)
    second_key = second_key[rows]
    ahead = np.searchsorted(second_key, first_key, side="left")  # rows of the second placed before
    last = np.searchsorted(second_key, first_key, side="right")
    tied = np.flatnonzero(last > ahead)
    if len(tied):
        # Rows of the second that share a time are in id order, those without an id last: a
        # row of the first goes before the first of them its id does not follow. Times can
        # be shared by thousands of rows (to the minute, or missing), hence a binary search.
        starts = np.unique(ahead[tied])  # one block of the second per shared time
        stops = last[tied][np.searchsorted(ahead[tied], starts)]
        widths = stops - starts
        # Every block's ids in one take: positions start..stop-1 of each block, end to end.
        within = np.repeat(starts - np.cumsum(widths) + widths, widths) + np.arange(int(widths.sum()))
        texts = second_text.take(rows[within]).to_pylist()
        blocks: dict[int, tuple[int, int, int]] = {}  # start: where its ids begin in texts, end, named end
        begin = 0
        for start, width in zip(starts.tolist(), widths.tolist(), strict=True):
            end = begin + width
            named = end - texts[begin:end].count(None)
            blocks[start] = (begin, end, named)
            begin = end
        for row, ident in zip(tied.tolist(), first_text.take(tied).to_pylist(), strict=True):
            start = int(ahead[row])
            begin, end, named = blocks[start]
            ahead[row] = start + (named - begin if ident is None else
                                  bisect.bisect_left(texts, ident, begin, named) - begin)
    size = len(first_key) + len(second_key)
    places = ahead + np.arange(len(first_key))
    order = np.empty(size, dtype=np.intp)
    from_second = np.ones(size, dtype=bool)
    from_second[places] = False
    order[places] = np.arange(len(first_key))
    order[from_second] = len(first_key) + np.arange(len(second_key))
    return order


def _recency_key(at: pd.Series) -> np.ndarray:
    """Integers that sort latest first, missing times last."""
    ticks = at.array.asi8  # NaT reads as the smallest integer
    missing = at.isna().to_numpy()
    # Negated for latest first; NaT mapped past every time, so it sorts last.
    return np.where(missing, np.iinfo(np.int64).max, -np.where(missing, 0, ticks))


def id_text(ids: pd.Series) -> Any:
    """Ids as Arrow text (missing ones null): what :func:`positions_among` looks ids up in."""
    return pa.array(ids.astype("str").array, type=pa.large_string())


def positions_among(ids: Any, among: Any) -> np.ndarray:
    """Where each of ``ids`` first stands in ``among`` (both Arrow text, see :func:`id_text`);
    -1 where it does not, or is missing.

    What ``pd.Index(among).get_indexer(ids)`` answers for distinct ``among``, with Arrow's
    hash lookup: a pandas index of Arrow text converts every id to a Python string first.
    """
    found = pc.index_in(ids, value_set=among, skip_nulls=True)
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.intp)


def _in_recency_order(key: np.ndarray, text: Any) -> bool:
    """Whether rows with these keys and ids are in :func:`recency_order` already."""
    if len(key) < 2:
        return True
    if not bool(np.all(key[1:] >= key[:-1])):
        return False
    tied = key[1:] == key[:-1]
    if not tied.any():
        return True
    left, right = text[:-1], text[1:]
    # Within a time: ids in order, rows without one last.
    wrong = pc.or_(pc.and_(pc.is_null(left), pc.is_valid(right)),
                   pc.fill_null(pc.greater(left, right), False))
    return not bool(np.any(wrong.to_numpy(zero_copy_only=False) & tied))
