"""Lists read side by side: request slots shared between passes, and a list read bottom-up
up to a top that another read holds (Briq's unread list beside a refresh's activity read)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import partial

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import toolkit as tk
from toolkit._deadline import Deadline
from toolkit._paging import (
    OffsetPlan,
    OffsetPuller,
    Page,
    PageShape,
    SlotPool,
    overlap_for,
    unproven_frontier,
)
from toolkit._paging.proof import ContinuityProof, reads_follow_the_offset, too_few_rows_for_the_totals

from .test_paging_parts import page as parts_page

# Pages as the loaders key them (test_paging_parts.page), a hundred rows asked by default.
page = partial(parts_page, limit=100)


def rows_of(size: int, newest: int = 10_000) -> list[tuple[int, str]]:
    return [(newest - number, f"r{number}") for number in range(size)]


@dataclass
class ActiveSince:
    """A held top as a refresh's activity read holds one: every row active at ``since`` or
    later; at least ``total - older`` of them are on top of the list."""

    expected_rows: int
    older: int
    since: int

    def rows(self, total: int) -> int:
        return max(0, total - self.older)

    def covers(self, page: Page) -> bool:
        return bool(page.records) and page.records[0]["activity"] >= self.since


def drain(plan: OffsetPlan) -> list[int]:
    offsets = []
    while (offset := plan.next_offset()) is not None:
        offsets.append(offset)
    return offsets


# -- the plan of a bottom-up read -------------------------------------------------------------


def test_a_list_read_bottom_up_opens_at_its_foreseen_end_and_stops_where_the_held_top_begins():
    held = ActiveSince(expected_rows=1000, older=750, since=0)
    plan = OffsetPlan(100, max_workers=4, speculate=True, held_top=held)
    # Pages overlap by 4 rows from the start (96 new rows a page): the last page of 1,000
    # rows starts at 960, and the opening wave goes up from there.
    assert plan.opening_offsets() == [960, 864, 768, 672]
    rows = rows_of(1000)
    plan.observe(page(960, rows[960:], total=1000))
    # At least 250 rows on top are held: the top page is the highest whose first row lies
    # within them with the overlap (4 rows) to spare, 192 (rows 192 to 291).
    assert drain(plan) == [576, 480, 384, 288, 192]
    assert plan.top_offset == 192
    assert plan.pages_planned() == 9


def test_a_list_grown_since_its_foreseen_length_is_read_beyond_it_first():
    held = ActiveSince(expected_rows=1000, older=1000, since=0)
    plan = OffsetPlan(100, max_workers=2, speculate=True, held_top=held)
    assert plan.opening_offsets() == [960, 864]
    rows = rows_of(1150)
    plan.observe(page(960, rows[960:1060], total=1150))
    # The pages beyond 960 first (1,056 reaches the total of 1,150), then on up to the top:
    # at most 1,000 rows are older than the held ones, so the 150 on top are held.
    assert drain(plan) == [1056, 768, 672, 576, 480, 384, 288, 192, 96]
    assert plan.top_offset == 96


def test_a_bottom_up_read_of_a_server_that_serves_smaller_pages_falls_back_to_the_top():
    held = ActiveSince(expected_rows=1000, older=0, since=0)
    plan = OffsetPlan(100, max_workers=2, speculate=True, held_top=held)
    plan.opening_offsets()
    rows = rows_of(1000)
    plan.observe(page(864, rows[864:904], total=1000))  # 40 rows where 100 were asked: capped
    assert plan.shape == PageShape(100, 40, lean=False)
    assert not plan.reads_upwards and plan.top_offset == 0
    assert drain(plan)[:3] == [0, 39, 78]


def test_a_server_that_serves_smaller_pages_is_read_whole_even_when_its_last_page_comes_back_first():
    # The first page back is the list's last, short because the list ends there: it cannot
    # show that the server serves 40 rows where 100 are asked. The next one does.
    rows = rows_of(1000)
    held = ActiveSince(expected_rows=1000, older=700, since=10_000 - 299)

    def capped(offset: int, limit: int) -> Page:
        return page(offset, rows[offset:offset + min(limit, 40)], limit=limit, total=len(rows))

    collected: list[dict] = []
    puller = OffsetPuller(capped, provider="test", page_size=100, max_workers=1, speculate=True,
                          held_top=held,
                          digest=lambda pages: collected.extend(r for item in pages for r in item.records))
    puller.pull()
    assert {record["id"] for record in collected} == {identifier for activity, identifier in rows}
    assert puller.report.rows_held_above == 0 and puller.report.page_size_served == 40
    assert puller.report.pages <= 2 + math.ceil(1000 / 39) + 1


def test_pages_of_two_rows_are_read_from_the_top_whatever_is_held():
    # Pages of one or two rows share none with their neighbours: nothing would show a row
    # slipping between two of them, and read bottom-up every row landing on top would.
    plan = OffsetPlan(2, max_workers=3, speculate=True, held_top=ActiveSince(1000, 0, since=0))
    assert plan.held_top is None and plan.opening_offsets() == [0, 2, 4]


def test_a_server_ignoring_the_offset_is_refused_when_read_bottom_up():
    rows = rows_of(1000)

    def same_rows(offset: int, limit: int) -> Page:
        return page(offset, rows[:limit], limit=limit, total=len(rows))

    puller = OffsetPuller(same_rows, provider="briq", page_size=100, max_workers=4, speculate=True,
                          held_top=ActiveSince(expected_rows=1000, older=700, since=10_000 - 299))
    with pytest.raises(tk.ResponseFormatError, match="offset"):
        puller.pull()


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("what_happens", ["one lands on top", "two land on top", "a page comes back short",
                                          "a page comes back empty", "nothing"])
def test_a_server_ignoring_the_offset_is_refused_whatever_happens_as_it_is_read_again(workers, what_happens):
    # Three reads matching the top page are read again before the server is refused (live
    # traffic can line rows up so); a server serving its top page everywhere still is when
    # conversations land on top meanwhile, or one of the reads again comes back short.
    rows = rows_of(30)
    lock = threading.Lock()
    served: list[int] = []

    def top_page_everywhere(offset: int, limit: int) -> Page:
        with lock:
            served.append(offset)
            count = len(served)
            if count in (6, 7) and what_happens.endswith("on top"):
                landing = 1 if what_happens.startswith("one") else 2
                for _ in range(landing if count == 6 else 0):
                    rows.insert(0, (rows[0][0] + 1, f"n{len(rows)}"))
            if count == 7 and what_happens == "a page comes back short":
                return page(offset, rows[:1], limit=limit, total=30)
            if count == 7 and what_happens == "a page comes back empty":
                return page(offset, [], limit=limit, total=30)
            return page(offset, rows[:limit], limit=limit, total=30)

    puller = OffsetPuller(top_page_everywhere, provider="briq", page_size=10, max_workers=workers)
    with pytest.raises(tk.ResponseFormatError, match="offset"):
        puller.pull()


@pytest.mark.parametrize(("size", "page_size", "workers", "moving"),
                         [(200, 10, 1, 1), (200, 10, 4, 1), (1000, 100, 16, 3), (30, 2, 1, 0)])
def test_a_server_ignoring_the_offset_under_steady_traffic_is_refused_by_its_totals(size, page_size, workers,
                                                                                     moving):
    # Conversations moving to the top before every request: no two of its pages match, yet
    # every page joins the top one and the page at the total's end closes the proof. Pages
    # of two rows share none (no overlap, nothing to match): the totals refuse those too.
    rows = rows_of(size)
    lock = threading.Lock()

    def top_page_everywhere(offset: int, limit: int) -> Page:
        with lock:
            for _ in range(moving):
                activity, identifier = rows.pop()
                rows.insert(0, (rows[0][0] + 1, identifier))
            return page(offset, rows[:limit], limit=limit, total=len(rows))

    puller = OffsetPuller(top_page_everywhere, provider="briq", page_size=page_size, max_workers=workers)
    with pytest.raises(tk.ResponseFormatError, match=f"reports at least {size:,} rows but served"):
        puller.pull()


def test_a_list_read_whole_is_held_to_its_totals_only_when_far_short_of_them():
    rows = rows_of(100)
    whole = [page(offset, rows[offset:offset + 10], total=100) for offset in range(0, 100, 9)]
    assert too_few_rows_for_the_totals(whole, [100], 10) is None
    proof = ContinuityProof()
    for part in whole[:4]:
        proof.add(part)
    assert proof.rows_seen == 37
    counted = too_few_rows_for_the_totals(whole[:4], [100], 10, rows_read=proof.rows_seen)
    assert "served 37 different" in counted
    # Half the list left during the read: short by more than two pages, yet not under half.
    assert too_few_rows_for_the_totals(whole[:6], [100], 10) is None
    assert "served 37 different ones" in too_few_rows_for_the_totals(whole[:4], [100], 10)
    # Rows above a bottom-up read's top are read elsewhere; a short list may lose half its rows.
    assert too_few_rows_for_the_totals(whole[:4], [100], 10, held_above=50) is None
    assert too_few_rows_for_the_totals(whole[:1], [25], 10) is None
    # A total that claims rows its empty pages do not hold is the phantom server's, taken at its rows.
    assert too_few_rows_for_the_totals([*whole[:2], page(99, [], total=100)], [100], 10) is None


def test_reads_again_follow_the_offset_only_when_the_furthest_shows_other_rows():
    rows = rows_of(40)
    honest = [page(offset, rows[offset:offset + 10], total=40) for offset in (0, 1, 13)]
    assert reads_follow_the_offset(honest)
    # The top page served everywhere, with a row landed on top between two reads.
    moved = [(10_001, "new"), *rows]
    assert not reads_follow_the_offset([page(0, rows[:10], total=40), page(13, moved[:10], total=40)])
    # Offsets closer than a page show shared rows in an honest list too: no proof either way.
    assert not reads_follow_the_offset([page(0, rows[:10], total=40), page(4, rows[4:14], total=40)])
    # A read of fewer than two rows proves nothing.
    assert not reads_follow_the_offset([*honest, page(20, rows[20:21], total=40)])


def test_the_proof_of_a_bottom_up_read_starts_at_its_top():
    rows = rows_of(500)
    shape = PageShape(100, 100, lean=True)
    pages = [page(offset, rows[offset:offset + 100], total=500) for offset in (198, 297, 396, 495)]
    assert unproven_frontier(pages, shape, top=198) is None
    with pytest.raises(ValueError, match="offset 0"):
        unproven_frontier(pages, shape)
    # A gap between the top and the end is found as in a read from offset 0.
    assert unproven_frontier([pages[0], pages[2], pages[3]], shape, top=198) is pages[0]


# -- a bottom-up read under live traffic --------------------------------------------------------


class LiveList:
    """Rows most recently active first, changed before each read as live traffic changes them."""

    def __init__(self, size: int, churn: list[tuple[str, int, int]]) -> None:
        self.rows = rows_of(size, newest=size)
        self.clock = size
        self.churn = list(churn)
        self.lock = threading.Lock()
        self.stayed = {(identifier, str(activity)) for activity, identifier in self.rows}

    def change(self, kind: str, where: int) -> None:
        if kind == "new":
            self.clock += 1
            self.rows.insert(0, (self.clock, f"n{self.clock}"))
            return
        if not self.rows:
            return
        activity, identifier = self.rows.pop(where % len(self.rows))
        self.stayed.discard((identifier, str(activity)))
        if kind == "message":  # new activity: the row jumps to the top with a new key
            self.clock += 1
            self.rows.insert(0, (self.clock, identifier))

    def fetch(self, offset: int, limit: int) -> Page:
        with self.lock:
            if self.churn:
                kind, where, times = self.churn.pop(0)
                for _ in range(times):  # now and then a burst (many threads read at once)
                    self.change(kind, where)
            return page(offset, self.rows[offset:offset + limit], limit=limit, total=len(self.rows))


@settings(max_examples=60, deadline=None)
# Rows landing on top push the top page down by just the distance between its reads (0, 1,
# then 13): live traffic, not a server ignoring the offset.
@example(size=10, page_size=5, recent=0, churn=[("new", 0, 1)] * 4 + [("new", 0, 12)])
# The read goes on up to offset 0; the frontier then stands where earlier repair rounds had
# reached further: rounds must not keep climbing from the top without ever passing it.
@example(size=33, page_size=5, recent=0, churn=[("new", 0, 1)] * 5 + [("new", 0, 12), ("new", 0, 1)])
# A frontier page read before a burst shares no row with the pages read after it: rounds
# climb back to the bottom-up read's top page (not above it) and read down from there.
@example(size=274, page_size=6, recent=109, churn=[
    ("new", 5037, 1), ("new", 4365, 1), ("new", 9178, 12), ("read", 4613, 1), ("new", 5148, 12),
    ("new", 2861, 12), ("new", 7572, 1), ("message", 2441, 1), ("new", 3851, 1), ("read", 3531, 1),
    ("message", 4826, 2), ("message", 7657, 12), ("message", 6226, 2), ("read", 6606, 1),
    ("message", 8214, 2), ("read", 7185, 1), ("message", 7506, 1), ("new", 7282, 12), ("read", 4865, 1),
    ("message", 1424, 12), ("new", 3769, 12), ("new", 4178, 2), ("message", 3650, 1), ("new", 2275, 12),
    ("new", 8916, 12), ("new", 4608, 12), ("read", 2434, 1), ("new", 1727, 2), ("message", 9739, 12),
    ("read", 8854, 1)])
@given(size=st.integers(1, 400), page_size=st.integers(5, 40), recent=st.integers(0, 120),
       churn=st.lists(st.tuples(st.sampled_from(["new", "message", "read"]), st.integers(0, 10_000),
                                st.sampled_from([1, 1, 2, 12])), max_size=30))
def test_a_bottom_up_read_holds_every_row_below_the_held_top_that_stayed(size, page_size, recent, churn):
    """Whatever moves meanwhile, every row that stayed in the list is read or held: active at
    or after ``since`` (a row that moves gets newer activity, which a sweep finds)."""
    live = LiveList(size, churn)
    recent = min(recent, size)
    since = size - recent + 1  # the ``recent`` newest rows are held
    held = ActiveSince(expected_rows=size, older=size - recent, since=since)
    collected: list[dict] = []
    puller = OffsetPuller(live.fetch, provider="test", page_size=page_size, max_workers=4, speculate=True,
                          held_top=held, digest=lambda pages: collected.extend(
                              record for item in pages for record in item.records))
    puller.pull()
    read = {(record["id"], str(record["activity"])) for record in collected}
    older_that_stayed = {key for key in live.stayed if int(key[1]) < since}
    assert older_that_stayed <= read
    if not churn:
        # A still list: read from the page the opening wave starts at (the last of the list)
        # up to the highest page whose first row is held with the margin to spare, and no further.
        top = puller.report.rows_held_above
        stride, margin = page_size - 1, overlap_for(page_size)
        last = math.ceil(max(0, size - page_size) / stride)
        highest_held = max(0, (recent - 1 - margin) // stride)
        assert top == max(0, min(last - 3, highest_held)) * stride
        assert read == {(identifier, str(activity)) for activity, identifier in live.rows[top:]}


def test_a_read_goes_on_up_to_offset_0_when_its_top_turns_out_not_to_be_held():
    # 1,000 rows, the 300 newest held; the held top counts on no more than 500 older rows
    # (a conversation unread again without a new message would make the previous count
    # short like this): the read would stop at 480, whose first row is not held.
    rows = rows_of(1000, newest=1000)
    held = ActiveSince(expected_rows=1000, older=500, since=701)
    asked: list[int] = []
    lock = threading.Lock()

    def fetch(offset: int, limit: int) -> Page:
        with lock:
            asked.append(offset)
        return page(offset, rows[offset:offset + limit], limit=limit, total=len(rows))

    collected: list[dict] = []
    puller = OffsetPuller(fetch, provider="test", page_size=100, max_workers=2, speculate=True, held_top=held,
                          digest=lambda pages: collected.extend(r for item in pages for r in item.records))
    puller.pull()
    assert sorted(asked, reverse=True)[:6] == [960, 864, 768, 672, 576, 480]
    assert 0 in asked and puller.report.rows_held_above == 0
    assert {record["id"] for record in collected} == {identifier for activity, identifier in rows}


# -- request slots shared by two passes ---------------------------------------------------------


def test_two_passes_sharing_a_pool_never_have_more_requests_out_than_it_holds():
    pool = SlotPool(3)
    lock = threading.Lock()
    out, most = [0], [0]

    def slow(offset: int, limit: int) -> Page:
        with lock:
            out[0] += 1
            most[0] = max(most[0], out[0])
        time.sleep(0.01)
        with lock:
            out[0] -= 1
        rows = rows_of(300)
        return page(offset, rows[offset:offset + limit], limit=limit, total=300)

    pullers = [OffsetPuller(slow, provider="test", page_size=20, max_workers=3, speculate=True, slots=pool,
                            urgent=urgent) for urgent in (True, False)]
    threads = [threading.Thread(target=puller.pull) for puller in pullers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(puller.report.pages >= 300 // 19 for puller in pullers)
    assert 2 <= most[0] <= 3  # six request threads, never more than three requests out
    assert pool.in_use == 0


def test_a_request_waiting_for_a_slot_is_not_sent_once_its_pass_ran_out_of_time():
    pool = SlotPool(1)
    pool.acquire()  # another pass holds the only slot
    sent: list[int] = []

    def fetch(offset: int, limit: int) -> Page:
        sent.append(offset)
        return page(offset, rows_of(10)[offset:offset + limit], limit=limit, total=10)

    puller = OffsetPuller(fetch, provider="test", page_size=100, max_workers=1, slots=pool,
                          deadline=Deadline(0.2, "test"))
    with pytest.raises(tk.PullTimeoutError):
        puller.pull()
    pool.release()  # the slot comes free after the pass gave up
    time.sleep(0.2)
    assert sent == [] and pool.in_use == 0


def test_an_urgent_request_takes_the_next_free_slot_before_others_waiting():
    pool = SlotPool(1)
    pool.acquire()
    order: list[str] = []

    def wait_for_slot(name: str, urgent: bool) -> None:
        pool.acquire(urgent=urgent)
        order.append(name)
        pool.release()

    waiting = threading.Thread(target=wait_for_slot, args=("other", False))
    waiting.start()
    time.sleep(0.05)  # the other request waits first
    urgent = threading.Thread(target=wait_for_slot, args=("urgent", True))
    urgent.start()
    # Released once the urgent request waits too (a fixed pause lost the race on a busy machine).
    give_up = time.monotonic() + 5
    while pool._urgent_waiting == 0 and time.monotonic() < give_up:
        time.sleep(0.005)
    pool.release()
    waiting.join(timeout=5)
    urgent.join(timeout=5)
    assert order == ["urgent", "other"]
    with pytest.raises(RuntimeError, match="never taken"):
        pool.release()
