"""The frame-level helpers the loaders, parsers and the refresh share, against pandas' own answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import _schema
from toolkit._frames import (
    RecencyKeys,
    contains,
    id_text,
    interleaved_order,
    missing_count,
    most_recent_first,
    positions_among,
)
from toolkit._schema import COLUMNS, TIMESTAMP
from toolkit.providers._load import keep_latest

# Few distinct values, so that ties in time, repeated ids and missing values are common.
times = st.one_of(st.none(), st.integers(0, 5).map(lambda minute: pd.Timestamp("2026-11-30", tz="UTC")
                                                   + pd.Timedelta(minutes=minute)))
ids = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]))


def frame_of(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame({
        "last_message_at": pd.Series([at for at, _ in rows], dtype=TIMESTAMP),
        "conversation_id": pd.Series([name for _, name in rows], dtype="str"),
        "row": range(len(rows)),  # tells rows equal in both keys apart, for stability
    })


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(times, ids), max_size=60))
def test_most_recent_first_orders_as_pandas_sorts(rows):
    frame = frame_of(rows)
    expected = frame.sort_values(["last_message_at", "conversation_id"], ascending=[False, True],
                                 na_position="last", kind="stable")
    assert most_recent_first(frame)["row"].tolist() == expected["row"].tolist()


def test_most_recent_first_with_ties_everywhere_still_orders_as_pandas_sorts():
    # More than one row in eight tied: the other path of the function.
    start = pd.Timestamp("2026-11-30", tz="UTC")
    rows = [(start + pd.Timedelta(minutes=number % 3), f"id{(number * 7) % 50}") for number in range(400)]
    frame = frame_of(rows)
    expected = frame.sort_values(["last_message_at", "conversation_id"], ascending=[False, True],
                                 na_position="last", kind="stable")
    assert most_recent_first(frame)["row"].tolist() == expected["row"].tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(times, ids), max_size=40), st.lists(st.tuples(times, ids), max_size=60),
       st.lists(st.booleans(), min_size=60, max_size=60))
def test_two_ordered_parts_interleave_as_pandas_sorts_them_whole(first_rows, second_rows, picked):
    # The refresh's merge: fetched rows (in order) among the carried subset of a previous frame (in order).
    first = most_recent_first(frame_of(first_rows)).reset_index(drop=True)
    second = most_recent_first(frame_of(second_rows)).reset_index(drop=True)
    second["row"] += len(first_rows)
    rows = np.flatnonzero(picked[:len(second)])
    order = interleaved_order(first["last_message_at"], first["conversation_id"],
                              second["last_message_at"], second["conversation_id"], rows)
    both = pd.concat([first, second.take(rows)], ignore_index=True)
    expected = both.sort_values(["last_message_at", "conversation_id"], ascending=[False, True],
                                na_position="last", kind="stable")
    assert both.take(order)["row"].tolist() == expected["row"].tolist()
    # The second part's keys made ahead (as a refresh makes the carried rows') change nothing.
    keys = RecencyKeys.of(second["last_message_at"], second["conversation_id"])
    again = interleaved_order(first["last_message_at"], first["conversation_id"],
                              second["last_message_at"], second["conversation_id"], rows, second_keys=keys)
    assert again is not None and again.tolist() == order.tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(times, ids, st.integers(0, 3)), min_size=1, max_size=50), st.integers(1, 3))
def test_keep_latest_keeps_each_conversations_last_fetched_row_in_recency_order(rows, parts):
    arrived = pd.Timestamp("2026-12-01", tz="UTC")
    frame = _schema.conform(pd.DataFrame({
        "last_message_at": pd.Series([at for at, _, _ in rows], dtype=TIMESTAMP),
        "conversation_id": pd.Series([name for _, name, _ in rows], dtype="str"),
        "fetched_at": pd.Series([arrived + pd.Timedelta(seconds=second) for _, _, second in rows],
                                dtype=TIMESTAMP),
        "unread_count": pd.Series(range(len(rows)), dtype="Int64"),  # tells rows apart
    }))
    pieces = [frame.iloc[start::parts] for start in range(parts)]
    # Stated in pandas: the last fetched row of each id (ties: the later piece), rows without an id all kept.
    both = pd.concat(pieces, ignore_index=True).sort_values("fetched_at", kind="stable")
    named = both[both["conversation_id"].notna()].drop_duplicates("conversation_id", keep="last")
    expected = most_recent_first(pd.concat([named, both[both["conversation_id"].isna()]]))
    assert keep_latest(pieces)["unread_count"].tolist() == expected["unread_count"].tolist()


def test_a_part_out_of_order_is_left_to_a_whole_sort():
    start = pd.Timestamp("2026-11-30", tz="UTC")
    ordered = frame_of([(start + pd.Timedelta(minutes=2), "a"), (start, "b")])
    shuffled = frame_of([(start, "b"), (start + pd.Timedelta(minutes=2), "a")])
    ids_out_of_order = frame_of([(start, "b"), (start, "a")])
    for part in (shuffled, ids_out_of_order):
        assert interleaved_order(ordered["last_message_at"], ordered["conversation_id"],
                                 part["last_message_at"], part["conversation_id"]) is None
        assert interleaved_order(part["last_message_at"], part["conversation_id"],
                                 ordered["last_message_at"], ordered["conversation_id"]) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(ids, max_size=40), st.lists(ids, max_size=20))
def test_contains_answers_as_isin(values, candidates):
    column = pd.Series(values, dtype="str")
    expected = column.isin([value for value in candidates if value is not None]).to_numpy(dtype=bool)
    assert contains(column, candidates).tolist() == expected.tolist()
    assert contains(column, pd.Series(candidates, dtype="str")).tolist() == expected.tolist()
    text = RecencyKeys.of(pd.Series(pd.NaT, index=column.index, dtype="datetime64[us, UTC]"), column).text
    assert contains(column, candidates, column_text=text).tolist() == expected.tolist()


# -- building a frame from columns ----------------------------------------------------------


def test_frame_of_fills_left_out_columns_as_missing_and_casts_the_rest_like_conform():
    built = _schema.frame_of({
        "conversation_id": pd.Series(["c1", None], index=[7, 3]),  # values taken by position
        "unread_count": [2, None],  # not in the schema dtype: cast as conform casts
        "last_message_at": ["2026-11-30T10:00:00Z", None],
    }, 2)
    assert list(built.columns) == list(COLUMNS)
    assert all(built[name].dtype == dtype for name, dtype in COLUMNS.items())
    assert built["conversation_id"].tolist()[0] == "c1" and pd.isna(built["conversation_id"].iloc[1])
    assert built["unread_count"].iloc[0] == 2 and pd.isna(built["unread_count"].iloc[1])
    assert built["last_message_at"].iloc[0] == pd.Timestamp("2026-11-30T10:00:00Z")
    assert built["channel_name"].isna().all() and built["is_human_takeover"].isna().all()
    assert isinstance(built.index, pd.RangeIndex) and built.index.tolist() == [0, 1]


def test_frame_of_refuses_a_column_the_toolkit_does_not_have():
    with pytest.raises(ValueError, match="not columns of the toolkit"):
        _schema.frame_of({"conversation_id": ["c1"], "conversationId": ["c1"]}, 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(ids, max_size=40), st.lists(ids, max_size=20))
def test_positions_among_answer_as_an_index_of_the_first_occurrences(values, among):
    # pandas' answer for distinct ids, each id standing for its first occurrence in ``among``.
    first_seen = list(dict.fromkeys(value for value in among if value is not None))
    expected = [first_seen.index(value) if value in first_seen else -1 for value in values]
    expected = [among.index(first_seen[place]) if place >= 0 else -1 for place in expected]
    text, among_text = id_text(pd.Series(values, dtype="str")), id_text(pd.Series(among, dtype="str"))
    looked_up = positions_among(text, among_text)
    assert looked_up.tolist() == expected
    if len(first_seen) == len(among):
        index = pd.Index(pd.Series(among, dtype="str"))
        assert looked_up.tolist() == index.get_indexer(pd.Series(values, dtype="str")).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(ids, max_size=10), min_size=1, max_size=4))
def test_missing_count_counts_as_isna_over_every_chunk_and_dtype(parts):
    # Arrow text put end to end from several parts keeps one array per part (chunks).
    text = pd.concat([pd.Series(part, dtype="str") for part in parts], ignore_index=True)
    everything = [value for part in parts for value in part]
    expected = sum(value is None for value in everything)
    assert missing_count(text) == expected
    assert missing_count(pd.Series(everything, dtype=object)) == expected
    counts = pd.Series([None if value is None else len(value) for value in everything], dtype="Int64")
    assert missing_count(counts) == expected
