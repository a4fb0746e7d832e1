"""Turn lists of raw JSON values into typed pandas columns.

Each reader takes the values of one field across all rows (whatever JSON types they
arrived as), returns a typed column, and records in a :class:`Tally` how many present
values it could not read. Absent values (``None``) are missing, not unreadable. Nothing
here raises on a bad value: it becomes a missing value and is counted.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._schema import BOOLEAN, INT, STRING, TIMESTAMP

_INT64_MAX = np.iinfo(np.int64).max

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

    def merge(self, other: "Tally") -> None:
        """Add the counts of ``other`` to this tally."""
        self.counts.update(other.counts)

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
        values = [value.get(key) if isinstance(value, dict) else None for value in values]
    return values


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
    return pd.Series(out, dtype=STRING)


def phones(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """Phone numbers as digits only (no ``+``, spaces or dashes); no digits is missing."""
    prepared: list[Any] = []
    for value in values:
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e19:
            prepared.append(int(value))
        else:
            prepared.append(value)
    text = strings(prepared, tally, name)
    digits = text.str.replace(r"\D+", "", regex=True)
    no_digits = text.notna() & (digits.str.len() == 0)
    tally.add(name, int(no_digits.sum()))
    return digits.mask(no_digits)


def booleans(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """Booleans from JSON booleans, 0/1, or words such as ``"true"``/``"False"``."""
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


def timestamps(values: Sequence[Any], tally: Tally, name: str) -> pd.Series:
    """ISO 8601 timestamps as UTC; values without an offset are read as UTC."""
    # Blank text is an absent value (the document's non-nullable strings use it), not a bad one.
    text = [value if isinstance(value, str) and value.strip() else None for value in values]
    not_text = sum(1 for value in values if value is not None and not isinstance(value, str))
    parsed = pd.to_datetime(pd.Series(text, dtype=object), utc=True, errors="coerce", format="ISO8601")
    unparsed = int((parsed.isna() & pd.Series([v is not None for v in text])).sum())
    tally.add(name, not_text + unparsed)
    return _as_timestamp(parsed)


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
