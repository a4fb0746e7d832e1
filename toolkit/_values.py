"""Turn lists of raw JSON values into typed pandas columns.

Each reader takes the values of one field across all rows (whatever JSON types they
arrived as), returns a typed column, and records in a :class:`Tally` how many present
values it could not read. Absent values (``None``) are missing, not unreadable. Nothing
here raises on a bad value: it becomes a missing value and is counted.

Speed: a field whose values all share one JSON type (the usual case) is converted by
Arrow in one vectorised pass; only a field with mixed or odd types takes the per-value
Python path. Both paths give the same result (``tests/test_values.py`` checks this).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._schema import BOOLEAN, INT, TIMESTAMP, utc_column

_INT64_MAX = np.iinfo(np.int64).max

#: Exactly what ``str.strip()`` removes (every character ``str.isspace`` accepts), so the
#: Arrow path trims as the Python path does. Written out: finding them among all code points
#: took 40 ms at every import (``tests/test_values.py`` checks the list against Python's).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
              "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# The forms both providers send; anything else is left to pandas' ISO 8601 parser.
_PLAIN_ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
_WHOLE_NUMBER_TEXT = r"^-?\d{1,18}$"

_BOOLEAN_WORDS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "t": True,
    "f": False,
}


class Tally:
    """Counts of unreadable values per source field, reported once per load."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, field: str, count: int) -> None:
        """Record ``count`` unreadable values of ``field``."""
        if count:
            self.counts[field] += int(count)

    @property
    def total(self) -> int:
        """All unreadable values together."""
        return sum(self.counts.values())

    def describe(self) -> str:
        """A one-line summary such as ``"lastMessage (2), contact.phoneNumber (1)"``."""
        return ", ".join(f"{field} ({count})" for field, count in sorted(self.counts.items()))


def field(records: Sequence[Any], *path: str) -> list[Any]:
    """The value at ``path`` in each record; ``None`` where any step is not an object."""
    values: list[Any] = list(records)
    for key in path:
        try:
            # Every value an object (the usual case): one pass in C.
            values = list(map(dict.get, values, repeat(key)))
        except TypeError:
            values = [value.get(key) if isinstance(value, dict) else None for value in values]
    return values


def fields(records: Sequence[Any], keys: Sequence[str]) -> dict[str, list[Any]]:
    """The values of several top-level keys at once, as :func:`field` gives each.

    One C-level pass per key (``map(dict.get, ...)``): measured faster on decoded pages
    than reading every key of a record at once into a NumPy object table.
    """
    return {key: field(records, key) for key in keys}


def _arrow(values: Sequence[Any], type: pa.DataType | None = None) -> pa.Array | None:
    """``values`` as one Arrow array of ``type`` (inferred when ``None``); ``None`` when
    they do not fit it (mixed JSON types, text where numbers are wanted, ...)."""
    try:
        array = pa.array(values, type=type, from_pandas=False)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _inferred(values: Sequence[Any]) -> pa.Array | None:
    """``values`` as one Arrow array when they share a JSON type; ``None`` when mixed."""
    return _arrow(values)


def plain_text(values: Sequence[Any]) -> pa.Array | None:
    """``values`` as Arrow text when every one is text or absent; else ``None``.

    Declaring the type is several times faster than letting Arrow infer it.
    """
    if isinstance(values, pa.Array) and values.type == pa.large_string():
        return values
    return _arrow(values, pa.large_string())


def _trimmed_text(array: pa.Array) -> pa.Array:
    """Strip text (from :func:`plain_text`) as ``str.strip`` does; blank text becomes null."""
    trimmed = pc.utf8_trim(array, characters=WHITESPACE)
    return pc.if_else(pc.equal(pc.utf8_length(trimmed), 0), pa.scalar(None, pa.large_string()), trimmed)


def _masked(array: pa.Array, kind: type, filler: Any) -> Any:
    """An Arrow array as a pandas masked array, exactly (no detour through float)."""
    values = array.fill_null(filler).to_numpy(zero_copy_only=False)
    return kind(values, array.is_null().to_numpy(zero_copy_only=False))


def _string_series(array: pa.Array) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(array))


def strings(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """Text values; integers are written out; blank text is missing.

    Parameters
    ----------
    values : sequence
        Raw JSON values.
    tally : Tally
        Receives the count of values that are neither text nor integers.
    name : str
        The source field's name for the tally.

    Returns
    -------
    pandas.Series
        dtype ``string[pyarrow]``.
    """
    return _string_series(_text(values, tally, name))


def _text(values: Sequence[Any], tally: Tally, name: str) -> pa.Array:
    """:func:`strings` as an Arrow array (``large_string``)."""
    array = plain_text(values)
    if array is not None:
        return _trimmed_text(array)
    out: list[str | None] = []
    bad = 0
    for value in values:
        if isinstance(value, str):
            stripped = value.strip()
            out.append(stripped if stripped else None)
        elif value is None:
            out.append(None)
        elif isinstance(value, int) and not isinstance(value, bool):
            out.append(str(value))
        else:
            out.append(None)
            bad += 1
    tally.add(name, bad)
    return pa.array(out, pa.large_string())


def phones(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """Phone numbers as digits only (no ``+``, spaces or dashes); no digits is missing."""
    text_values = plain_text(values)
    if text_values is not None:
        values = text_values  # converted once, not again below
    else:
        # Numbers sent as floats (4.47700900123e11) are still whole phone numbers.
        values = [int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e19
                  else value for value in values]
    text = _text(values, tally, name)
    # Arrow's regular expressions (RE2) are what pandas' str.replace runs on this dtype.
    digits = pc.replace_substring_regex(text, r"\D+", "")
    no_digits = pc.and_(text.is_valid(), pc.equal(pc.binary_length(digits), 0))
    tally.add(name, int(pc.sum(no_digits).as_py() or 0))
    return _string_series(pc.if_else(no_digits, pa.scalar(None, pa.large_string()), digits))


def booleans(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """Booleans from JSON booleans, 0/1, or words such as ``"true"``/``"False"``."""
    flags = _arrow(values, pa.bool_())
    if flags is not None:  # all JSON booleans
        return pd.Series(_masked(flags, pd.arrays.BooleanArray, False))
    array = plain_text(values)
    if array is not None:
        words = pc.utf8_lower(pc.utf8_trim(array, characters=WHITESPACE))
        known = pa.array(list(_BOOLEAN_WORDS), pa.string()).cast(array.type)
        read = pc.take(pa.array(list(_BOOLEAN_WORDS.values()), pa.bool_()),
                       pc.index_in(words, value_set=known))
        tally.add(name, int(pc.sum(pc.and_(array.is_valid(), read.is_null())).as_py() or 0))
        return pd.Series(_masked(read, pd.arrays.BooleanArray, False))
    out: list[bool | None] = []
    bad = 0
    for value in values:
        if isinstance(value, bool):
            out.append(value)
        elif value is None:
            out.append(None)
        elif isinstance(value, str):
            word = _BOOLEAN_WORDS.get(value.strip().lower())
            out.append(word)
            bad += word is None
        elif isinstance(value, (int, float)) and value in (0, 1):
            out.append(bool(value))
        else:
            out.append(None)
            bad += 1
    tally.add(name, bad)
    return pd.Series(out, dtype=BOOLEAN)


def counts(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """Non-negative whole numbers from integers, integral floats or numeric text."""
    array = _inferred(values)
    if array is not None and array.type in (pa.int64(), pa.null()):
        array = array.cast(pa.int64())
        negative = pc.less(array, 0)
        tally.add(name, int(pc.sum(negative).as_py() or 0))
        kept = pc.if_else(negative, pa.scalar(None, pa.int64()), array)
        return pd.Series(_masked(kept, pd.arrays.IntegerArray, 0))
    out: list[int | None] = []
    bad = 0
    for value in values:
        number = _number(value)
        if number is None:
            out.append(None)
            bad += value is not None
        elif number < 0 or number > _INT64_MAX or not float(number).is_integer():
            out.append(None)
            bad += 1
        else:
            out.append(int(number))
    tally.add(name, bad)
    return pd.Series(out, dtype=INT)


def seconds(values: Sequence[Any], tally: Tally, name: str) -> np.ndarray:
    """Durations in seconds as floats; ``nan`` where absent or unreadable."""
    array = _inferred(values)
    if array is not None and pa.types.is_string(array.type):
        trimmed = pc.utf8_trim(array, characters=WHITESPACE)
        if pc.all(pc.match_substring_regex(trimmed, _WHOLE_NUMBER_TEXT)).as_py() is not False:
            array = trimmed.cast(pa.int64())  # integer text, as the document types it
    if array is not None and (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)
                              or array.type == pa.null()):
        numbers = array.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        non_finite = ~np.isfinite(numbers) & array.is_valid().to_numpy(zero_copy_only=False)
        tally.add(name, int(non_finite.sum()))
        return np.where(non_finite, np.nan, numbers)
    out = np.full(len(values), np.nan)
    bad = 0
    for index, value in enumerate(values):
        number = _number(value)
        if number is None:
            bad += value is not None
        elif math.isfinite(number):
            out[index] = float(number)
        else:
            bad += 1
    tally.add(name, bad)
    return out


def positive(numbers: pd.Series) -> pd.Series:
    """Whether each count (from :func:`counts`) is above zero; missing stays missing.

    ``(numbers > 0).astype(BOOLEAN)`` in NumPy: pandas' comparison costs more than the rest
    of a small page's column.
    """
    missing = numbers.isna().to_numpy()
    above = numbers.to_numpy(dtype=np.int64, na_value=0) > 0
    return pd.Series(pd.arrays.BooleanArray(above & ~missing, missing))


def timestamps(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """ISO 8601 timestamps as UTC; values without an offset are read as UTC."""
    array = plain_text(values)
    if array is not None:
        text = _trimmed_text(array)
        if pc.all(pc.match_substring_regex(text, _PLAIN_ISO)).as_py() is not False:
            try:
                parsed = text.cast(pa.timestamp("us", tz="UTC"))
            except pa.ArrowException:
                pass  # an impossible date somewhere: pandas finds and counts it
            else:
                return utc_column(parsed.to_numpy(zero_copy_only=False))
    # Blank text is an absent value (the document's non-nullable strings use it), not a bad one.
    text = [value if isinstance(value, str) and value.strip() else None for value in values]
    not_text = sum(1 for value in values if value is not None and not isinstance(value, str))
    parsed = pd.to_datetime(pd.Series(text, dtype=object), utc=True, errors="coerce", format="ISO8601")
    unparsed = int((parsed.isna() & pd.Series([v is not None for v in text])).sum())
    tally.add(name, not_text + unparsed)
    return _as_timestamp(parsed)


def timestamp_of(value: Any) -> pd.Timestamp | None:
    """One ISO 8601 timestamp as UTC (without an offset: read as UTC); ``None`` when missing
    or unreadable. For a test on one row of a page as it arrives: :func:`timestamps` costs a
    column's setting-up for the one value, and releases the interpreter lock to other threads."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = timestamps([value], Tally(), "timestamp").iloc[0]
        return None if pd.isna(parsed) else pd.Timestamp(parsed)
    if moment.tzinfo is None:
        return pd.Timestamp(moment, tz="UTC")
    return pd.Timestamp(moment).tz_convert("UTC")


def _as_timestamp(parsed: pd.Series) -> pd.Series:
    try:
        return parsed.astype(TIMESTAMP)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        # Parsed at a coarser unit than ours would overflow: keep only what fits.
        low, high = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
        fits = parsed.notna() & (parsed >= low) & (parsed <= high)
        return parsed.where(fits).astype(TIMESTAMP)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
