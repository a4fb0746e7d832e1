"""The paging engine's pure parts, without HTTP: the plan, the continuity proof, the batcher.

The proof is checked on page sets cut from a list that changes between requests, as live
traffic changes a provider's list: conversations appear at the top, move to the top when
a message arrives (a new last activity, so a new continuity key), and leave a filtered
list. Rows that stayed in the list with the same key all the while are the ones a proof
vouches for.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit as tk
from toolkit._paging import (
    ContinuityProof,
    OffsetPlan,
    Page,
    PageBatcher,
    PageShape,
    check_offsets_honoured,
    overlap_for,
    unproven_frontier,
)

MOMENT = pd.Timestamp("2026-01-01", tz="UTC")


def page(offset: int, rows: list[tuple[int, str]], *, limit: int = 10, total: int | None = None,
         sequence: int = 0, has_next: bool | None = None) -> Page:
    """A page holding ``rows`` as ``(activity, id)`` pairs, keyed as the loaders key them."""
    records = [{"id": identifier, "activity": activity} for activity, identifier in rows]
    keys = [(identifier, str(activity)) for activity, identifier in rows]
    return Page(offset, limit, records, keys, total, has_next, MOMENT, sequence=sequence)


# -- a list under live traffic --------------------------------------------------------------


class LiveList:
    """Rows most recently active first, changed between reads the way live traffic does."""

    def __init__(self, size: int) -> None:
        self.rows = [(size - number, f"r{number}") for number in range(size)]
        self.clock = size
        self.created = size

    def change(self, kind: str, where: int) -> None:
        if kind == "new":
            self.clock += 1
            self.rows.insert(0, (self.clock, f"n{self.clock}"))
        elif self.rows:
            index = where % len(self.rows)
            _, identifier = self.rows.pop(index)
            if kind == "message":  # new activity: the row jumps to the top with a new key
                self.clock += 1
                self.rows.insert(0, (self.clock, identifier))

    def read(self, offset: int, limit: int, sequence: int) -> Page:
        return page(offset, self.rows[offset:offset + limit], limit=limit, total=len(self.rows),
                    sequence=sequence)


@dataclass
class Pull:
    shape: PageShape
    pages: list[Page]
    stayed: set[tuple[str, str]]
    live: LiveList


# A few changes between two reads, now and then a burst (a batch of conversations closing).
changes = st.lists(st.tuples(st.sampled_from(["new", "message", "close"]), st.integers(0, 10_000),
                             st.sampled_from([1, 1, 1, 2, 8])), max_size=4)


@st.composite
def pulls(draw: st.DrawFn, churn: bool = True) -> Pull:
    """Pages read at the planned offsets, in any order, with the list changing between reads."""
    size = draw(st.integers(0, 80))
    shape = PageShape(draw(st.integers(3, 15)), 0)
    shape = PageShape(shape.asked, shape.asked)
    live = LiveList(size)
    offsets = list(range(0, max(size, 1), shape.stride))
    offsets += draw(st.lists(st.sampled_from(offsets), max_size=3))  # some pages read twice
    order = draw(st.permutations(offsets))
    pages, seen = [], []
    for sequence, offset in enumerate(order, start=1):
        if churn:
            for kind, where, times in draw(changes):
                for _ in range(times):
                    live.change(kind, where)
        seen.append({(identifier, str(activity)) for activity, identifier in live.rows})
        pages.append(live.read(offset, shape.asked, sequence))
    return Pull(shape, pages, set.intersection(*seen), live)


def keys_read(pages: list[Page]) -> set:
    return {key for item in pages for key in item.keys}


def reference_frontier(pages: list[Page], shape: PageShape) -> Page | None:
    """The proof's rule stated directly: walk from the top pages through shared rows."""
    if any(item.offset == 0 and not item.size for item in pages):
        return None  # empty when its top was read: no row stayed throughout
    read = [item for item in pages if item.size]
    reached = [item for item in read if item.offset == 0]
    frontier = list(reached)
    while frontier:
        current = frontier.pop()
        for other in read:
            if all(other is not known for known in reached) and set(other.keys) & set(current.keys):
                reached.append(other)
                frontier.append(other)
    if not reached or any(shape.ends_at(item) for item in reached):
        return None
    return max(reached, key=lambda item: item.offset + item.size)


@settings(max_examples=150, deadline=None)
@given(pulls())
def test_a_proven_pull_holds_every_row_that_stayed(pull):
    if unproven_frontier(pull.pages, pull.shape) is None:
        assert pull.stayed <= keys_read(pull.pages)


@settings(max_examples=150, deadline=None)
@given(pulls())
def test_the_proof_flags_exactly_the_pulls_its_rule_cannot_join_to_the_end(pull):
    expected = reference_frontier(pull.pages, pull.shape)
    found = unproven_frontier(pull.pages, pull.shape)
    assert (found is None) == (expected is None)
    if found is not None and expected is not None:
        assert found.offset + found.size == expected.offset + expected.size


@settings(max_examples=150, deadline=None)
@given(pulls(), st.randoms(use_true_random=False))
def test_the_proof_built_as_pages_arrive_answers_as_the_whole_set_does(pull, rng):
    # A pull asks the proof after its pages are in and again after each repair round;
    # pages without ids are mixed in (they join the page before them in the list).
    pages = list(pull.pages)
    for _ in range(rng.randint(0, 2)):
        offset = rng.randrange(0, 90)
        pages.insert(rng.randrange(len(pages) + 1), Page(offset, pull.shape.asked, [{}], [None], None, None,
                                                         MOMENT, sequence=500 + offset))
    proof = ContinuityProof()
    for number, arrived in enumerate(pages, start=1):
        proof.add(arrived)
        if any(item.offset == 0 for item in pages[:number]) and rng.random() < 0.5:
            found = proof.frontier(pull.shape)
            expected = unproven_frontier(pages[:number], pull.shape)
            assert (found is None) == (expected is None)
            if found is not None and expected is not None:
                assert found.offset + found.size == expected.offset + expected.size


@settings(max_examples=100, deadline=None)
@given(pulls(churn=False))
def test_a_still_list_read_at_the_planned_offsets_is_proven_at_once(pull):
    assert unproven_frontier(pull.pages, pull.shape) is None
    assert {(name, str(activity)) for activity, name in pull.live.rows} == keys_read(pull.pages)


@settings(max_examples=100, deadline=None)
@given(pulls())
def test_repair_rounds_prove_the_list_once_it_stops_changing(pull):
    plan = OffsetPlan(pull.shape.asked, max_workers=4)
    plan.observe(pull.live.read(0, pull.shape.asked, 0))
    pages = list(pull.pages)
    for round_number in range(1, 25):
        frontier = unproven_frontier(pages, pull.shape)
        if frontier is None:
            break
        pages += [pull.live.read(offset, pull.shape.asked, 1000 + round_number)
                  for offset in plan.repair_offsets(frontier)]
    assert unproven_frontier(pages, pull.shape) is None
    assert pull.stayed <= keys_read(pages)


def test_a_list_that_shrank_under_the_read_pages_is_not_taken_as_ended():
    # 20 rows; the top page is read, then 15 rows leave the list and the pages planned
    # further down come back empty. The 5 rows left were never read.
    live = LiveList(20)
    shape = PageShape(10, 10)
    top = live.read(0, 10, 1)
    for _ in range(15):
        live.change("close", 0)
    pages = [top, live.read(9, 10, 2), live.read(18, 10, 3)]
    assert not keys_read(pages) >= {(name, str(activity)) for activity, name in live.rows}
    assert unproven_frontier(pages, shape) is top
    plan = OffsetPlan(10, max_workers=2)
    plan.observe(top)
    for round_number in range(2):  # the first round finds nothing to join; the next one starts at the top
        pages += [live.read(offset, 10, 10 + round_number) for offset in plan.repair_offsets(top)]
    assert unproven_frontier(pages, shape) is None


def test_repair_rounds_that_move_nothing_climb_to_the_top_then_start_again_at_the_frontier():
    # A frontier that never moves: each round starts a round's width further up, down to the
    # top, and the round after the one from the top starts inside the frontier again (a round
    # from the top ends before the frontier: repeating it could never pass it).
    live = LiveList(200)
    plan = OffsetPlan(10, max_workers=2)
    plan.observe(live.read(0, 10, 1))
    frontier = live.read(45, 10, 2)
    firsts = [plan.repair_offsets(frontier)[0] for _ in range(6)]
    assert firsts == [49, 31, 13, 0, 49, 31]


def test_pages_without_a_shared_row_leave_a_gap_that_a_bridging_page_closes():
    rows = [(100 - number, f"r{number}") for number in range(30)]
    shape = PageShape(10, 10)
    top, bottom = page(0, rows[:10], total=30), page(18, rows[18:28], total=30)
    end = page(27, rows[27:30], total=30)
    assert unproven_frontier([top, bottom, end], shape) is top
    bridge = page(9, rows[9:19], total=30)
    assert unproven_frontier([top, bottom, end, bridge], shape) is None


def test_rows_without_ids_are_taken_as_they_come():
    shape = PageShape(3, 3)
    anonymous = Page(3, 3, [{}, {}, {}], [None, None, None], 6, None, MOMENT)
    top = page(0, [(9, "a"), (8, "b"), (7, "c")], limit=3, total=6)
    assert unproven_frontier([top, anonymous], shape) is None


def test_a_total_the_pages_contradict_ends_where_the_rows_end():
    # A server claiming ten million rows and serving empty pages after the first.
    shape = PageShape(10, 10)
    rows = [(100 - number, f"r{number}") for number in range(10)]
    pages = [page(0, rows, total=10_000_000), page(9, [], total=10_000_000)]
    assert unproven_frontier(pages, shape) is None


def test_a_server_ignoring_the_offset_is_refused():
    rows = [(9, "a"), (8, "b"), (7, "c")]
    pages = [page(offset, rows, limit=3, total=30) for offset in (0, 2, 4)]
    check_offsets_honoured(pages[:2], "briq")  # two may match by chance under churn
    with pytest.raises(tk.ResponseFormatError, match="offset"):
        check_offsets_honoured(pages, "briq")


def test_rows_chased_down_the_list_by_live_traffic_are_not_taken_for_an_ignored_offset():
    # Repair rounds start half a page into the furthest proven page; when rows slide down
    # by just that much between rounds, the same rows come back at each round's offset.
    top = page(0, [(900 - n, f"t{n}") for n in range(40)], limit=40, total=400)
    chased = [(500 - n, f"r{n}") for n in range(40)]
    pages = [top, *(page(offset, chased, limit=40, total=400) for offset in (78, 97, 135))]
    check_offsets_honoured(pages, "briq")


# -- the plan --------------------------------------------------------------------------------


def test_the_plan_follows_the_size_the_server_serves():
    plan = OffsetPlan(100, max_workers=4)
    assert plan.opening_offsets() == [0]
    assert plan.next_offset() is None  # nothing is planned before the first page
    capped = [(1000 - number, f"r{number}") for number in range(40)]
    plan.observe(page(0, capped, limit=100, total=130))
    assert plan.shape == PageShape(100, 40, lean=True)
    assert (plan.shape.overlap, plan.shape.stride) == (1, 39)
    offsets = []
    while (offset := plan.next_offset()) is not None:
        offsets.append(offset)
    assert offsets == [39, 78, 117]  # the last one reaches the total of 130
    assert plan.pages_planned() == 4


def test_a_speculative_opening_continues_the_chain_when_the_guess_was_right():
    plan = OffsetPlan(50, max_workers=3, speculate=True)
    assert plan.opening_offsets() == [0, 49, 98]  # pages overlapping by one row
    plan.observe(page(0, [(1000 - n, f"r{n}") for n in range(50)], limit=50, total=300))
    assert plan.next_offset() == 147
    # 300 rows at 49 new rows a page after the first: 1 + ceil(250 / 49) = 7 pages, three opened at once.
    assert plan.pages_planned() == 7


def test_a_wrong_guess_restarts_the_chain_and_counts_the_guesses():
    plan = OffsetPlan(50, max_workers=3, speculate=True)
    plan.observe(page(0, [(1000 - n, f"r{n}") for n in range(20)], limit=50, total=100))
    assert plan.shape == PageShape(50, 20, lean=True)
    assert plan.next_offset() == 19
    assert plan.pages_planned() == 2 + 1 + 5  # two wasted guesses, then 20 rows and 5 x 19


def test_the_chain_widens_its_overlap_once_a_row_left_the_list_between_two_reads():
    plan = OffsetPlan(100, max_workers=4)
    plan.observe(page(0, [(10_000 - n, f"r{n}") for n in range(100)], limit=100, total=1000))
    assert (plan.shape.overlap, plan.next_offset(), plan.next_offset()) == (1, 99, 198)
    # Rows only pushed down (a new thread on top): the pages still share a row, the chain stays lean.
    plan.observe(page(99, [(10_000 - n, f"r{n}") for n in range(98, 198)], limit=100, total=1001))
    assert not plan.widened and plan.next_offset() == 297
    # One row above left the list: the page at 198 starts one row further down and shares none.
    plan.observe(page(198, [(10_000 - n, f"r{n}") for n in range(198, 298)], limit=100, total=1000))
    assert plan.widened and plan.shape.overlap == overlap_for(100) == 4
    assert plan.next_offset() == 297 + 99  # planned before the gap showed
    assert plan.next_offset() == 396 + 96  # the wider stride from here on


def test_the_end_moves_with_what_the_pages_say():
    plan = OffsetPlan(10, max_workers=2)
    plan.observe(page(0, [(99 - n, f"r{n}") for n in range(10)], total=None))
    assert plan.limit() > 10**15  # no total: planning has no end yet
    plan.observe(page(27, [(50, "x")], total=None))  # a short page without a total ends the list
    assert plan.end == 28
    plan.observe(page(36, [(40 - n, f"y{n}") for n in range(10)], total=None))  # a full page beyond: it grew
    assert plan.end is None
    plan.observe(page(45, [], total=None))
    assert plan.end == 45


def test_a_first_page_that_ends_the_list_plans_nothing_more():
    plan = OffsetPlan(100, max_workers=4, speculate=True)
    plan.observe(page(0, [(3, "a"), (2, "b")], limit=100, total=2))
    assert plan.first_ended_list and plan.next_offset() is None
    assert plan.pages_planned() == 4


def test_the_request_budget_grows_with_the_total():
    plan = OffsetPlan(100, max_workers=4)
    plan.observe(page(0, [(1000 - n, f"r{n}") for n in range(100)], limit=100, total=960))
    small = plan.request_budget()
    plan.observe(page(96, [(800 - n, f"s{n}") for n in range(100)], limit=100, total=9600))
    assert plan.request_budget() > small > 960 // 96


# -- the batcher -----------------------------------------------------------------------------


def test_batches_hand_each_page_on_once_in_order_then_drop_its_rows():
    handed: list[list[int]] = []
    batcher = PageBatcher(lambda pages: handed.append([item.offset for item in pages]), batch=2)
    pages = [page(offset, [(9, f"r{offset}")]) for offset in (0, 9, 18, 27, 36)]
    for item in pages:
        batcher.add(item)
    assert handed == [[0, 9], [18, 27]]
    batcher.flush()
    batcher.flush()
    assert handed == [[0, 9], [18, 27], [36]]
    assert all(item.records == [] and item.size == 1 and item.keys for item in pages)


def test_without_a_digest_pages_keep_their_rows():
    batcher = PageBatcher(None)
    kept = page(0, [(9, "a")])
    batcher.add(kept)
    batcher.flush()
    assert kept.records == [{"id": "a", "activity": 9}]


def test_the_last_batch_holds_no_more_than_the_tail_once_the_pages_to_come_are_known():
    handed: list[list[int]] = []
    batcher = PageBatcher(lambda pages: handed.append([item.offset for item in pages]), batch=8)
    offsets = list(range(0, 110, 10))  # 11 pages: a full batch of 8, then 3
    for number, offset in enumerate(offsets, start=1):
        batcher.add(page(offset, [(9, f"r{offset}")]), to_come=len(offsets) - number)
    batcher.flush()
    assert batcher.tail == 2
    # Without the pages to come, the last call would take 3 pages: it takes the tail's 2.
    assert handed == [offsets[:8], offsets[8:9], offsets[9:]]
    assert [offset for call in handed for offset in call] == offsets


def test_pages_to_come_unknown_leave_the_batches_whole():
    handed: list[list[int]] = []
    batcher = PageBatcher(lambda pages: handed.append([item.offset for item in pages]), batch=8)
    for offset in range(0, 110, 10):
        batcher.add(page(offset, [(9, f"r{offset}")]))
    batcher.flush()
    assert [len(call) for call in handed] == [8, 3]
