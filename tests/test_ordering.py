"""The frame-level helpers the loaders and the refresh share, against pandas' own answers."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit._frames import contains, most_recent_first
from toolkit._schema import TIMESTAMP

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


@settings(max_examples=200, deadline=None)
@given(st.lists(ids, max_size=40), st.lists(ids, max_size=20))
def test_contains_answers_as_isin(values, candidates):
    column = pd.Series(values, dtype="str")
    expected = column.isin([value for value in candidates if value is not None]).to_numpy(dtype=bool)
    assert contains(column, candidates).tolist() == expected.tolist()
    assert contains(column, pd.Series(candidates, dtype="str")).tolist() == expected.tolist()
