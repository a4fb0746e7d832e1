"""One pass over an offset-paged list: a crew of request threads and the loop that drives it.

The crew keeps ``max_workers`` requests in flight for as long as the plan has offsets
to ask for: a thread that finishes a page tells the plan what it saw and takes the next
offset at once, without waiting for the calling thread. The calling thread alone
receives the pages, in arrival order: it counts them, reports progress, hands them to
the batcher and, when the crew runs out of work, asks the continuity proof whether a
round of re-fetching is needed.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor

import pandas as pd

from .._deadline import Deadline
from .._errors import PaginationError, PullTimeoutError, ResponseFormatError
from .batches import PageBatcher
from .pages import FetchPage, Page, PullReport
from .plan import HeldTop, OffsetPlan
from .proof import (
    ContinuityProof,
    offsets_ignored,
    offsets_matching_the_top,
    reads_follow_the_offset,
    too_few_rows_for_the_totals,
)
from .slots import SlotPool

#: Seconds without a page after which the calling thread tells ``on_wait``.
WAIT_NOTE_SECONDS = 1.0

#: ``on_page(done, planned)``: pages arrived, and pages the pass is expected to need
#: (``None`` while unknown). Called only from the thread that called :meth:`OffsetPuller.pull`.
OnPage = Callable[[int, int | None], None]


class _Idle:
    """The crew has nothing in flight and nothing left to ask for."""


class _Failed:
    """A request failed; the pass ends with its error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_IDLE = _Idle()
Arrival = Page | _Idle | _Failed


class _Crew:
    """``max_workers`` threads fetching the offsets the plan hands out.

    Explicit offsets (the opening wave, repair rounds) go first, then the plan's chain.
    Every arrival goes to :attr:`arrivals`, followed by one idle mark each time the crew
    runs out of work. With ``opening`` below ``workers``, at most ``opening`` requests are
    in flight at first, one more with every page that arrives (doubling each round trip,
    as TCP's slow start does): a list whose end is unknown gets few wasted requests when
    it is short, and the whole crew when it is long.
    """

    def __init__(self, fetch: Callable[[int], Page], plan: OffsetPlan, workers: int,
                 opening: int | None = None, slots: SlotPool | None = None, urgent: bool = False) -> None:
        self._fetch = fetch
        self._slots = slots
        self._urgent = urgent
        self._plan = plan
        self._workers = workers
        self._allowed = workers if opening is None else max(1, min(workers, opening))
        self._changed = threading.Condition()
        self._queued: deque[int] = deque()
        self._busy = 0
        self._idle_told = False
        self._closed = False
        self._chain = True
        self._sequence = 0
        self._threads = 0
        self.arrivals: queue.SimpleQueue[Arrival] = queue.SimpleQueue()

    def start(self) -> None:
        """Start as many threads as requests may be in flight now; more follow as that grows."""
        self._grow()

    def _grow(self) -> None:
        """One thread per request slot: start the ones the slots gained since."""
        with self._changed:
            first = self._threads
            self._threads = max(self._threads, self._allowed)
            last = self._threads
        for number in range(first, last):
            # Daemon threads: a request stuck past the caller's patience never holds up exit.
            threading.Thread(target=self._work, name=f"toolkit-page-{number}", daemon=True).start()

    def add(self, offsets: list[int], *, chain: bool = True) -> None:
        """Fetch these offsets next; with ``chain=False`` ask the plan for no more after them."""
        with self._changed:
            self._queued.extend(offsets)
            self._chain = self._chain and chain
            self._idle_told = False
            self._changed.notify_all()

    def close(self) -> None:
        """Take no further offsets; requests in flight finish on their own."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def settle(self) -> None:
        """Close, and wait for the requests in flight (each bounded by the client's timeouts)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            while self._busy:
                self._changed.wait()

    def _take(self) -> int | None:
        """The next offset to fetch, waiting for one; ``None`` once closed."""
        with self._changed:
            while not self._closed:
                if self._busy >= self._allowed:
                    self._changed.wait()
                    continue
                if self._queued:
                    offset: int | None = self._queued.popleft()
                else:
                    offset = self._plan.next_offset() if self._chain else None
                if offset is not None:
                    self._busy += 1
                    return offset
                if not self._busy and not self._idle_told:
                    self._idle_told = True
                    self.arrivals.put(_IDLE)
                self._changed.wait()
            return None

    def _work(self) -> None:
        while (offset := self._take()) is not None:
            if self._threads < self._allowed:  # read unlocked: _grow checks again
                self._grow()
            if self._slots is not None and not self._slot_taken():
                return
            try:
                page = self._fetch(offset)
            except BaseException as error:  # handed to the calling thread, which raises it
                with self._changed:
                    self._busy -= 1
                    self.arrivals.put(_Failed(error))
                    self._changed.notify_all()
                return
            finally:
                if self._slots is not None:
                    self._slots.release()
            with self._changed:
                self._sequence += 1
                page.sequence = self._sequence
                self._plan.observe(page)
                self._busy -= 1
                self._allowed = min(self._workers, self._allowed + 1)
                self.arrivals.put(page)  # before any idle mark: the caller sees every page first
                self._changed.notify_all()

    def _slot_taken(self) -> bool:
        """Wait for a slot of the shared pool; ``False`` (and none held) when the pass closed
        meanwhile (it failed, or ran out of time): its request is not sent then."""
        assert self._slots is not None
        self._slots.acquire(urgent=self._urgent)
        with self._changed:
            if not self._closed:
                return True
            self._busy -= 1
            self._changed.notify_all()
        self._slots.release()
        return False


class OffsetPuller:
    """Pull every page of one offset-paged list.

    Parameters
    ----------
    fetch : callable
        ``fetch(offset, limit) -> Page``; raises typed errors.
    provider : str
        For errors.
    page_size : int
        The ``limit`` asked for.
    max_workers : int
        Requests in flight at once.
    is_last : callable, optional
        ``is_last(page) -> bool``: the caller needs nothing beyond this page (used by the
        sweep that re-reads the top of an activity-ordered list). Asked on the request
        thread as the page arrives, while it still holds its rows.
    on_page : callable, optional
        ``on_page(done, planned)`` after each page, from the calling thread only: pages
        arrived, and pages the pass needs as the first page's total foresees (``None``
        while unknown, and for a pass that ``is_last`` ends).
    on_wait : callable, optional
        ``on_wait()`` from the calling thread each second that passes without a page (a
        server being retried, say), so that a display can say why.
    max_repair_rounds : int
        Rounds of gap re-fetching before giving up with :class:`PaginationError`.
    speculate : bool
        Fetch the first ``max_workers`` pages at once, before the first page has told the
        total and the page size the server serves. Saves a round trip on every pull; costs
        up to ``max_workers - 1`` requests on a list of one page, so it is for providers
        without a request budget.
    digest : callable, optional
        Called with batches of arrived pages (each page exactly once, in arrival order,
        from the thread that called :meth:`pull`) while later pages are still in flight.
        Digested pages keep their keys and size but drop their raw rows.
    digest_batch : int
        Pages per call of ``digest``, except the last call.
    digest_executor : Executor, optional
        One thread that runs ``digest`` instead of the calling thread (see
        :class:`PageBatcher`): :meth:`pull` then returns as soon as the pages are in and
        proven, before the last batches are digested; :meth:`wait_digested` waits for them.
    deadline : Deadline, optional
        When the pass must be over: it stops waiting then, with :class:`PullTimeoutError`,
        even for a request that has not come back.
    opening_workers : int, optional
        Requests in flight at first, growing by one with every page that arrives up to
        ``max_workers``: for a list that ``is_last`` ends early, where every request sent
        beyond the end is wasted. ``None``: ``max_workers`` from the start.
    hold_last_batch : bool
        Leave the pages still waiting when the pass ends to :meth:`wait_digested` instead
        of handing them to ``digest`` at once: for a caller with a request to send first
        (converting them holds the interpreter for milliseconds at a time).
    slots : SlotPool, optional
        Request slots shared with passes reading at the same time: each request waits for
        one (``max_workers`` still caps this pass's own).
    urgent : bool
        This pass's requests take free slots of ``slots`` before other passes' waiting ones.
    held_top : HeldTop, optional
        The top of the list is held by another read: read the list bottom-up and stop at
        the page where the held rows begin (see :class:`~toolkit._paging.OffsetPlan`). When
        that page's first row turns out not to be held (rows left the list above it), the
        pass reads on up to offset 0.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        provider: str,
        page_size: int,
        max_workers: int,
        is_last: Callable[[Page], bool] | None = None,
        on_page: OnPage | None = None,
        on_wait: Callable[[], None] | None = None,
        max_repair_rounds: int = 25,
        speculate: bool = False,
        digest: Callable[[list[Page]], None] | None = None,
        digest_batch: int = 100,
        digest_executor: Executor | None = None,
        deadline: Deadline | None = None,
        opening_workers: int | None = None,
        hold_last_batch: bool = False,
        slots: SlotPool | None = None,
        urgent: bool = False,
        held_top: HeldTop | None = None,
    ) -> None:
        self.fetch = fetch
        self.provider = provider
        self.page_size = page_size
        self.max_workers = max(1, int(max_workers))
        self.is_last = is_last
        self.on_page = on_page
        self.on_wait = on_wait
        self.max_repair_rounds = max_repair_rounds
        self.speculate = speculate
        self.digest = digest
        self.digest_batch = digest_batch
        self.digest_executor = digest_executor
        self._batcher: PageBatcher | None = None
        self.deadline = deadline if deadline is not None else Deadline(None, provider)
        self.opening_workers = opening_workers
        self.hold_last_batch = hold_last_batch
        self.slots = slots
        self.urgent = urgent
        self.held_top = held_top
        self.report = PullReport(page_size_asked=page_size)

    def pull(self) -> list[Page]:
        """Fetch the whole list and return its pages in offset order.

        Raises
        ------
        PaginationError
            When the server keeps serving pages past every sensible end, or the overlap
            between pages never lines up.
        ApiError, ResponseFormatError
            As raised by ``fetch``.
        """
        self.report.started_at = pd.Timestamp.now(tz="UTC")
        plan = OffsetPlan(self.page_size, self.max_workers, speculate=self.speculate,
                          max_repair_rounds=self.max_repair_rounds, held_top=self.held_top)
        pass_ = _Pass(self, plan)
        self._batcher = pass_.batcher
        crew = _Crew(self._fetch, plan, self.max_workers, self.opening_workers, self.slots, self.urgent)
        crew.add(plan.opening_offsets())
        crew.start()
        try:
            pass_.receive(crew, budgeted=True)
            if not plan.first_ended_list:
                pass_.repair(crew)
                if plan.top_offset and not pass_.top_is_held():
                    pass_.read_above_the_top(crew)
                    pass_.repair(crew)
            self.report.rows_held_above = plan.top_offset
            if self.is_last is None:  # a list read to its end: its rows can be held to its totals
                why = too_few_rows_for_the_totals(pass_.pages, plan.totals, pass_.rows_a_page,
                                                  plan.top_offset, rows_read=pass_.proof.rows_seen)
                if why is not None:
                    raise ResponseFormatError(why, provider=self.provider)
        finally:
            crew.close()
        self.report.finished_at = pd.Timestamp.now(tz="UTC")
        if not self.hold_last_batch:
            pass_.batcher.flush()
        return sorted(pass_.pages, key=lambda page: (page.offset, page.sequence))

    def wait_digested(self) -> None:
        """Hand on the pages still waiting (see ``hold_last_batch``) and wait until ``digest``
        has had every page (at once without ``digest_executor``); raises what a digest raised.
        Not thread-safe: one caller at a time, once :meth:`pull` has returned."""
        if self._batcher is not None:
            self._batcher.flush()
            self._batcher.wait()

    def _fetch(self, offset: int) -> Page:
        """One request, on a crew thread."""
        page = self.fetch(offset, self.page_size)
        if not isinstance(page.records, list):
            raise ResponseFormatError("page rows are not a list", provider=self.provider)
        # Asked now, while the page still holds its rows (they are dropped once converted).
        page.ends_list = bool(self.is_last(page)) if self.is_last is not None else False
        page.held_above = self.held_top is not None and bool(self.held_top.covers(page))
        return page


class _Pass:
    """The calling thread's side of one pass: pages, report, progress, batches, repair."""

    def __init__(self, puller: OffsetPuller, plan: OffsetPlan) -> None:
        self.puller = puller
        self.plan = plan
        self.report = puller.report
        self.batcher = PageBatcher(puller.digest, puller.digest_batch, puller.digest_executor)
        self.pages: list[Page] = []
        self.proof = ContinuityProof()
        self._planned_at_least = 0
        # Rows that matched the top page at three offsets by chance (see check_offsets).
        self._lined_up_by_chance: set[tuple] = set()

    @property
    def rows_a_page(self) -> int:
        """Rows a page holds: as the server serves them once a page is back, as asked before."""
        shape = self.plan.shape
        return shape.served if shape is not None else self.puller.page_size

    def receive(self, crew: _Crew, *, budgeted: bool) -> None:
        """Take arrivals until the crew runs out of work."""
        deadline = self.puller.deadline
        while True:
            left = deadline.remaining()
            try:
                arrival = crew.arrivals.get(timeout=WAIT_NOTE_SECONDS if left is None
                                            else min(left, WAIT_NOTE_SECONDS))
            except queue.Empty:
                if deadline.expired():
                    raise deadline.error() from None  # requests still out are abandoned (see pull)
                if self.puller.on_wait is not None:
                    self.puller.on_wait()
                continue
            if isinstance(arrival, _Idle):
                return
            if isinstance(arrival, _Failed):
                if not isinstance(arrival.error, PullTimeoutError):
                    crew.settle()  # the pass ends when nothing it started is still talking to the server
                raise arrival.error
            self._arrived(arrival)
            if budgeted and len(self.pages) > self.plan.request_budget():
                raise PaginationError(
                    f"gave up after {len(self.pages)} pages: the server keeps serving rows beyond "
                    f"the totals it reports", provider=self.puller.provider)

    def _arrived(self, page: Page) -> None:
        self.pages.append(page)
        self.proof.add(page)
        self.report.record(page)
        if self.plan.shape is not None:
            self.report.page_size_served = self.plan.shape.served
            self.report.overlap = self.plan.shape.overlap  # it widens once rows leave the list
        planned = self._planned()
        if self.puller.on_page is not None:
            self.puller.on_page(len(self.pages), planned)
        self.batcher.add(page, None if planned is None else planned - len(self.pages))

    def _planned(self) -> int | None:
        if self.puller.is_last is not None:
            return None  # the end test, not the total, decides where this pass stops
        foreseen = self.plan.pages_planned()
        if foreseen is None:
            return None
        return max(foreseen, self._planned_at_least, len(self.pages))

    def top_is_held(self) -> bool:
        """Whether every read of a bottom-up read's top page (a repair round's too) begins
        within the rows held elsewhere, so that the proof may start there."""
        tops = [page for page in self.pages if page.offset == self.plan.top_offset]
        return bool(tops) and all(page.held_above for page in tops)

    def read_above_the_top(self, crew: _Crew) -> None:
        """Read on up to offset 0: the top of a bottom-up read is not held after all.

        The top page was chosen for a first row within the rows held elsewhere; rows that
        left the list above it since (more than the margin kept) move the held ones up past
        it, and a read of it then shows a first row that is not held.
        """
        plan = self.plan
        shape = plan.shape
        assert shape is not None, "a bottom-up read knows its shape once a page is back"
        offsets = list(range(plan.top_offset - shape.stride, -1, -shape.stride))
        if not offsets or offsets[-1] != 0:
            offsets.append(0)
        plan.top_offset = 0
        self._planned_at_least = len(self.pages) + len(offsets)
        crew.add(offsets, chain=False)
        self.receive(crew, budgeted=False)

    def check_offsets(self, crew: _Crew) -> None:
        """Refuse a server that ignores the offset.

        Once three reads matched the top page
        (:func:`~toolkit._paging.proof.offsets_matching_the_top`), the top is read again with
        the offsets one and two pages below it (those that matched, in a list too short for
        that). Live traffic that lined rows up by chance shows other rows there
        (:func:`~toolkit._paging.proof.reads_follow_the_offset`): those rows are passed over
        from then on. A server that ignores the offset serves most of the same rows again,
        and is refused. The pages read again count as re-fetched.
        """
        found = offsets_matching_the_top(self.pages, self.plan.top_offset, self._lined_up_by_chance)
        if found is None:
            return
        matching, rows = found
        # Read a page apart from the top (two pages further at most, within the list), so that
        # an honest list shows other rows whatever offsets matched; a short list, the offsets
        # that matched.
        top, totals, size = self.plan.top_offset, self.plan.totals, self.rows_a_page
        spaced = [offset for offset in (top, top + size, top + 2 * size)
                  if totals and offset + 2 <= totals[-1]]
        asked = spaced if len(spaced) >= 2 else matching
        before = len(self.pages)
        self._planned_at_least = before + len(asked)
        self.report.pages_refetched += len(asked)
        crew.add(asked, chain=False)
        self.receive(crew, budgeted=False)
        if not reads_follow_the_offset(self.pages[before:]):
            raise offsets_ignored(matching, self.puller.provider)
        self._lined_up_by_chance.add(rows)

    def repair(self, crew: _Crew) -> None:
        """Re-fetch from where the proven part of the list stops until it reaches the end.

        Each round fetches ``max_workers`` pages at once from the furthest proven page
        onwards, then the proof is tried again. Before each round, and once more at the end,
        a server that ignores the offset is refused (:meth:`check_offsets`).
        """
        shape = self.plan.shape
        if shape is None or shape.overlap == 0:
            return
        provider = self.puller.provider
        for round_number in range(1, self.puller.max_repair_rounds + 1):
            self.check_offsets(crew)
            frontier = self.proof.frontier(shape, self.plan.top_offset)
            if frontier is None:
                return
            self.report.repair_rounds = round_number
            offsets = self.plan.repair_offsets(frontier)
            self._planned_at_least = len(self.pages) + len(offsets)
            self.report.pages_refetched += len(offsets)
            crew.add(offsets, chain=False)  # a round is only these pages
            self.receive(crew, budgeted=False)
        self.check_offsets(crew)
        if self.proof.frontier(shape, self.plan.top_offset) is not None:
            raise PaginationError(
                f"pages still did not line up after {self.puller.max_repair_rounds} rounds of re-fetching; "
                "the list changed faster than it could be read", provider=provider)
