"""The vectorised readers agree with the per-value readers on every input.

Each reader converts a field whose values share one JSON type with Arrow in one pass and
falls back to a per-value Python loop for anything else. Appending one unreadable value
(an empty list) forces the loop, so the two paths can be compared on the same values:
the fast result must equal the slow result minus its last row, and the slow tally must
count exactly one more unreadable value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit._schema import BOOLEAN
from toolkit._values import (
    WHITESPACE,
    Tally,
    booleans,
    counts,
    field,
    phones,
    positive,
    seconds,
    strings,
    timestamps,
)
from toolkit.providers._common import continuity_key, continuity_keys, record_id

FORCE_SLOW = [[]]  # a JSON array is unreadable for every reader and defeats type inference

SPACES = st.sampled_from(["", " ", "\t", "\u00a0", "\u2003", "\x1c", "\n "])
TEXT = st.builds(lambda left, core, right: left + core + right, SPACES,
                 st.text(max_size=12), SPACES)
WORDS = st.builds(lambda word, left, upper: left + (word.upper() if upper else word), st.sampled_from(
    ["true", "false", "1", "0", "yes", "no", "t", "f", "maybe", "", "TRUE", "Nope"]), SPACES, st.booleans())
MOMENTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.just(UTC))
OFFSETS = st.sampled_from(["Z", "+00:00", "+03:00", "-05:30", ""])


def iso_text(moment: datetime, digits: int, offset: str) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + offset


TIMESTAMPS = st.builds(iso_text, MOMENTS, st.sampled_from([0, 3, 6]), OFFSETS) | st.sampled_from(
    ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01", "not a time", " "])


def both_paths(reader, values):
    fast_tally, slow_tally = Tally(), Tally()
    fast = reader(values, fast_tally, "f")
    slow = reader(values + FORCE_SLOW, slow_tally, "f")
    return fast, slow[:-1], fast_tally.total, slow_tally.total - 1


def assert_same(fast, slow):
    if isinstance(fast, np.ndarray):
        np.testing.assert_array_equal(fast, slow)
    else:
        pd.testing.assert_series_equal(fast.reset_index(drop=True), slow.reset_index(drop=True))


def optional(values):
    return st.lists(st.one_of(st.none(), values), max_size=30)


@settings(max_examples=150, deadline=None)
@given(optional(TEXT))
def test_strings_agree(values):
    fast, slow, fast_bad, slow_bad = both_paths(strings, values)
    assert_same(fast, slow)
    assert fast_bad == slow_bad == 0


@settings(max_examples=100, deadline=None)
@given(optional(TEXT | st.from_regex(r"\+?[0-9 ()-]{4,18}", fullmatch=True)))
def test_phones_agree(values):
    fast, slow, fast_bad, slow_bad = both_paths(phones, values)
    assert_same(fast, slow)
    assert fast_bad == slow_bad


@settings(max_examples=150, deadline=None)
@given(optional(st.booleans()) | optional(WORDS))
def test_booleans_agree(values):
    fast, slow, fast_bad, slow_bad = both_paths(booleans, values)
    assert_same(fast, slow)
    assert fast_bad == slow_bad


@settings(max_examples=150, deadline=None)
@given(optional(st.integers(min_value=-10, max_value=2**63 - 1)))
def test_counts_agree(values):
    fast, slow, fast_bad, slow_bad = both_paths(counts, values)
    assert_same(fast, slow)
    assert fast_bad == slow_bad


@settings(max_examples=150, deadline=None)
@given(optional(st.integers(min_value=-10, max_value=2**63 - 1)))
def test_positive_answers_as_pandas_comparison(values):
    numbers = counts(values, Tally(), "n")
    pd.testing.assert_series_equal(positive(numbers), (numbers > 0).astype(BOOLEAN))


@settings(max_examples=150, deadline=None)
@given(optional(st.integers(min_value=-10**6, max_value=10**12))
       | optional(st.floats(allow_nan=True, allow_infinity=True))
       | optional(st.integers(min_value=-10**6, max_value=10**12).map(str))
       | optional(st.from_regex(r"[ ]?-?[0-9]{1,20}[ ]?", fullmatch=True)))
def test_seconds_agree(values):
    fast, slow, fast_bad, slow_bad = both_paths(seconds, values)
    assert_same(fast, slow)
    assert fast_bad == slow_bad


@settings(max_examples=150, deadline=None)
@given(optional(TIMESTAMPS))
def test_timestamps_agree(values):
    fast, slow, fast_bad, slow_bad = both_paths(timestamps, values)
    assert_same(fast, slow)
    assert fast_bad == slow_bad


def test_the_fast_paths_read_what_the_providers_send():
    """Independent expectations, written by hand, for the common shapes."""
    tally = Tally()
    assert strings([" Asha ", None, "", "  "], tally, "name").tolist() == ["Asha", pd.NA, pd.NA, pd.NA]
    assert booleans(["true", "False", " yes", "maybe", None], tally, "active").tolist() == \
        [True, False, True, pd.NA, pd.NA]
    assert counts([0, 3, -1, None], tally, "unread").tolist() == [0, 3, pd.NA, pd.NA]
    np.testing.assert_array_equal(seconds(["3600", " 0 ", None], tally, "remaining"), [3600.0, 0.0, np.nan])
    stamps = timestamps(["2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00.5Z", ""], tally, "at")
    assert stamps.tolist()[:2] == [pd.Timestamp("2026-01-01T00:00:00Z"),
                                   pd.Timestamp("2026-01-01T00:00:00.5Z")]
    assert pd.isna(stamps.iloc[2])
    assert tally.counts == {"active": 1, "unread": 1}


def test_the_arrow_trim_takes_exactly_the_characters_python_strips():
    # The list is written out in the module; Python's own definition is the reference.
    every_space = {character for character in map(chr, range(0x110000)) if character.isspace()}
    assert set(WHITESPACE) == every_space
    assert len(WHITESPACE) == len(every_space)


def test_field_reads_nested_values_and_treats_non_objects_as_absent():
    records = [{"a": {"b": 1}}, {"a": None}, {"a": "text"}, {}, {"a": {"b": [2]}}]
    assert field(records, "a", "b") == [1, None, None, None, [2]]
    assert field([{"a": 1}, "not an object", None], "a") == [1, None, None]


@pytest.mark.parametrize("reader", [strings, phones, booleans, counts, timestamps])
def test_empty_input_gives_an_empty_typed_column(reader):
    assert len(reader([], Tally(), "f")) == 0


def test_a_long_column_takes_the_same_path_as_a_short_one():
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    values = [iso_text(moment + timedelta(seconds=k), 3, "Z") for k in range(5000)]
    parsed = timestamps(values, Tally(), "at")
    assert parsed.iloc[-1] == pd.Timestamp(moment + timedelta(seconds=4999))
    assert parsed.is_monotonic_increasing


IDS = st.none() | st.integers() | st.booleans() | st.builds(lambda word, left, right: left + word + right,
                                                          st.sampled_from(["", "c1", "c 2"]), SPACES, SPACES)
# Text most of the time, so that whole pages of text ids and times (the shortcut) are drawn.
ACTIVITY = st.text(max_size=4) | st.text(max_size=4) | st.none() | st.integers() | st.just({"at": "x"})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.builds(lambda value: {"id": value}, IDS), st.just({}), st.just("not an object")),
                max_size=12), st.data())
def test_a_pages_continuity_keys_are_each_rows_own_key(records, data):
    # The whole-page shortcut (text ids, text times) must give exactly the per-row keys.
    activity = data.draw(st.lists(ACTIVITY, min_size=len(records), max_size=len(records)))
    expected = [continuity_key(record_id(record), moment)
                for record, moment in zip(records, activity, strict=True)]
    assert continuity_keys(records, activity) == expected


def test_the_usual_page_keys_ids_as_stripped_text_with_their_times():
    records = [{"id": " c1 "}, {"id": "c2"}]
    assert continuity_keys(records, ["t1", "t2"]) == [("c1", "t1"), ("c2", "t2")]
    assert continuity_keys([{"id": "  "}, {"id": "c2"}], ["t1", "t2"]) == [None, ("c2", "t2")]
