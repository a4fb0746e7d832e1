"""What both providers' readers share: ids, continuity keys, arrival times, error-body fields."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from .._schema import PROVIDER, TIMESTAMP, on_fresh_index
from .._values import Tally, field


def iso(stamp: pd.Timestamp) -> str:
    """``2026-09-29T01:00:00.123456Z``: the form both providers document."""
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def provider_column(name: str, length: int) -> pd.Categorical:
    """The ``provider`` column: ``name`` repeated, with both categories."""
    code = PROVIDER.categories.get_loc(name)
    return pd.Categorical.from_codes(np.full(length, code, dtype=np.int8), dtype=PROVIDER)


def drop_non_objects(records: Sequence[Any], fetched_at: Any, tally: Tally) -> tuple[list[dict], pd.Series]:
    """Keep the records that are JSON objects, with their arrival times; count the rest.

    Returns the kept records and their arrival times as a UTC timestamp column.
    """
    records = list(records)
    if isinstance(fetched_at, (pd.Timestamp, datetime, str)) or fetched_at is None:
        times = as_fetched_times([fetched_at]).repeat(len(records)).reset_index(drop=True)
    else:
        times = as_fetched_times(fetched_at)
        if len(times) != len(records):
            raise ValueError("fetched_at needs one value per record")
    if set(map(type, records)) <= {dict}:
        return records, times
    is_object = np.array([isinstance(record, dict) for record in records], dtype=bool)
    tally.add("row (not an object)", int((~is_object).sum()))
    kept = [record for record, keep in zip(records, is_object, strict=True) if keep]
    return kept, times[is_object].reset_index(drop=True)


def record_id(record: Any) -> str | None:
    """A record's ``id`` as text (integers written out); ``None`` when absent or unusable."""
    if not isinstance(record, dict):
        return None
    value = record.get("id")
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def continuity_key(conversation_id: Any, last_activity: Any) -> tuple[str, str] | None:
    """A row's identity for overlap checks: its id and its last activity, as sent.

    A conversation that got a new message between two reads has a new key, so it never
    vouches for the continuity of the pages it jumped between.
    """
    if conversation_id is None:
        return None
    if not isinstance(last_activity, (str, int, float, type(None))):
        last_activity = repr(last_activity)
    return (str(conversation_id), str(last_activity))


def continuity_keys(records: Sequence[Any], activity: Sequence[Any]) -> list[tuple[str, str] | None]:
    """:func:`continuity_key` of every record of a page, given each one's last activity."""
    ids = field(records, "id")
    # Type checks by set, not one generator step per row: the check costs as much as the keys.
    if len(ids) == len(activity) and set(map(type, ids)) == set(map(type, activity)) == {str}:
        # The usual page, text ids and text timestamps: the same keys, built in C.
        stripped = list(map(str.strip, ids))
        if "" not in stripped:
            return list(zip(stripped, activity, strict=True))
    return [continuity_key(record_id(record), moment)
            for record, moment in zip(records, activity, strict=True)]


def as_fetched_times(times: Any) -> pd.Series:
    """Arrival times (a sequence of timestamps, or a datetime array) as a UTC timestamp column."""
    if isinstance(times, pd.Series) and times.dtype == TIMESTAMP and on_fresh_index(times):
        return times  # already so (what records_of gives)
    if isinstance(getattr(times, "dtype", None), pd.DatetimeTZDtype):
        return pd.Series(times).reset_index(drop=True).dt.tz_convert("UTC").astype(TIMESTAMP)
    return pd.Series(pd.to_datetime(pd.Series(list(times), dtype=object), utc=True)).astype(TIMESTAMP)


def append_text(target: list[str], value: Any) -> None:
    """Add ``value`` to an error's codes or messages when it says something (at most 500 characters)."""
    if value is not None and value != "":
        target.append(str(value)[:500])


def detail_texts(detail: Any, codes: list[str], messages: list[str]) -> None:
    """Read a ``detail`` field: a text, or a validation list of ``{loc, msg, type}``."""
    if isinstance(detail, list):
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(part) for part in item.get("loc") or [])
                append_text(codes, item.get("type"))
                append_text(messages, f"{where}: {item.get('msg')}" if where else item.get("msg"))
    else:
        append_text(messages, detail)
