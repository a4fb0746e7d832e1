"""Offset pagination, shared by both providers: concurrent, chained, and self-checking.

The first page tells the total and the page size the server really serves. The rest of
the list is planned from that and fetched concurrently by a bounded pool, each page
overlapping its predecessor by a few rows. Because both lists are ordered by recent
activity and live traffic shifts rows between requests, the overlap is checked: two
neighbouring pages must share a row, which proves no row slid between them. Where they do
not, the hole is re-fetched (each time starting further back) until the chain is whole.

Stop conditions: an empty page, a page that reaches the total it reports, a page that
says there is no next page, or a page the caller's ``is_last`` accepts. A hard budget on
requests ends a server that never lets the list end with :class:`PaginationError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._errors import PaginationError, ResponseFormatError
from ._schema import TIMESTAMP


@dataclass
class Page:
    """One page of a list as the server served it.

    Attributes
    ----------
    offset, limit : int
        What was asked for.
    records : list
        The rows, as raw JSON values.
    keys : list
        Each row's continuity key: its id with its last-activity time, so that a row
        that moved (new activity) does not count as the same row; ``None`` without an id.
    total : int or None
        The total the server reported with this page.
    has_next : bool or None
        ``False`` when the server said there is no next page, ``None`` when it did not say.
    fetched_at : pandas.Timestamp
        When the response arrived.
    sequence : int
        Order of arrival across the pull.
    ends_list : bool
        The puller's ``is_last`` said the caller needs nothing beyond this page.
    """

    offset: int
    limit: int
    records: list[Any]
    keys: list[Any]
    total: int | None
    has_next: bool | None
    fetched_at: pd.Timestamp
    sequence: int = 0
    ends_list: bool = False
    _released_size: int | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Rows the page held (also after :meth:`release`)."""
        return len(self.records) if self._released_size is None else self._released_size

    def release(self) -> None:
        """Drop the raw rows once they are converted; the keys and size stay for the proofs."""
        if self._released_size is None:
            self._released_size = len(self.records)
            self.records = []


FetchPage = Callable[[int, int], Page]


@dataclass
class PullReport:
    """What one pull observed; stored in ``df.attrs`` by the loaders."""

    pages: int = 0
    page_size_asked: int = 0
    page_size_served: int = 0
    overlap: int = 0
    totals_reported: list[int] = field(default_factory=list)
    pages_refetched: int = 0
    repair_rounds: int = 0
    rows_received: int = 0
    started_at: pd.Timestamp | None = None
    finished_at: pd.Timestamp | None = None

    def as_dict(self) -> dict[str, Any]:
        totals = self.totals_reported
        return {
            "pages": self.pages,
            "page_size_asked": self.page_size_asked,
            "page_size_served": self.page_size_served,
            "overlap": self.overlap,
            "total_first": totals[0] if totals else None,
            "total_min": min(totals) if totals else None,
            "total_max": max(totals) if totals else None,
            "total_last": totals[-1] if totals else None,
            "pages_refetched": self.pages_refetched,
            "repair_rounds": self.repair_rounds,
            "rows_received": self.rows_received,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def overlap_for(page_size: int) -> int:
    """Rows two neighbouring pages share: enough to prove continuity, cheap at 4%."""
    if page_size < 3:
        return 0
    return max(1, page_size // 25)


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
        Pages fetched at once.
    is_last : callable, optional
        ``is_last(page) -> bool``: the caller needs nothing beyond this page (used by the
        sweep that re-reads the top of an activity-ordered list).
    on_page : callable, optional
        Called with ``(pages_done, pages_planned)`` after each page, for progress bars.
    max_repair_rounds : int
        Rounds of gap re-fetching before giving up with :class:`PaginationError`.
    speculate : bool
        Fetch the first ``max_workers`` pages at once, before the first page has told the
        total and the page size the server serves. Saves a round trip on every pull; costs
        up to ``max_workers - 1`` requests on a list of one page, so it is for providers
        without a request budget.
    digest : callable, optional
        Called with batches of arrived pages (each page exactly once, in arrival order,
        from the thread that called :meth:`pull`) while later pages are still in flight,
        so their rows are converted while the network is the bottleneck. Digested pages
        keep their keys and size but drop their raw rows.
    digest_batch : int
        Pages per call of ``digest``, except the last call.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        provider: str,
        page_size: int,
        max_workers: int,
        is_last: Callable[[Page], bool] | None = None,
        on_page: Callable[[int, int], None] | None = None,
        max_repair_rounds: int = 25,
        speculate: bool = False,
        digest: Callable[[list[Page]], None] | None = None,
        digest_batch: int = 100,
    ) -> None:
        self.fetch = fetch
        self.provider = provider
        self.page_size = page_size
        self.max_workers = max(1, int(max_workers))
        self.is_last = is_last
        self.on_page = on_page
        self.max_repair_rounds = max_repair_rounds
        self.speculate = speculate
        self.digest = digest
        self.digest_batch = max(1, digest_batch)
        self._digested = 0
        self.report = PullReport(page_size_asked=page_size)
        self._sequence = 0
        self._lock = threading.Lock()
        self._pages: list[Page] = []
        self._planned = 1

    # -- public --------------------------------------------------------------------------

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
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="toolkit-page") as pool:
            guessed_stride = max(1, self.page_size - overlap_for(self.page_size))
            guesses = self.max_workers if self.speculate else 1
            # Offsets assume the server serves what is asked; the first page says whether it does.
            wave = [pool.submit(self._fetch, k * guessed_stride, self.page_size) for k in range(guesses)]
            first = wave[0].result()
            served = self._served_page_size(first)
            overlap = overlap_for(served)
            self.report.page_size_served = served
            self.report.overlap = overlap
            for future in wave[1:]:
                future.result()
            if not self._ends_at(first, served):
                stride = max(1, served - overlap)
                start = guesses * guessed_stride if stride == guessed_stride else stride
                self._fetch_rest(pool, served, stride, start)
                self._repair(pool, served, overlap)
        self.report.finished_at = pd.Timestamp.now(tz="UTC")
        self._digest(final=True)
        return sorted(self._pages, key=lambda page: (page.offset, page.sequence))

    # -- planning ------------------------------------------------------------------------

    def _served_page_size(self, first: Page) -> int:
        """The page size the server really serves: lower than asked when it caps pages."""
        if 0 < first.size < self.page_size and not self._ends_at(first, self.page_size):
            return first.size
        return self.page_size

    def _ends_at(self, page: Page, served: int) -> bool:
        """Whether the list ends with this page, by any of the stop conditions."""
        if page.size == 0 or page.has_next is False:
            return True
        if page.ends_list:
            return True
        if page.total is not None and page.offset + page.size >= page.total:
            return True
        # A short page that does not reach the total is a capped page, not the end.
        return page.size < min(served, page.limit) and page.total is None

    def _request_budget(self) -> int:
        totals = self.report.totals_reported or [0]
        stride = max(1, self.report.page_size_served - self.report.overlap)
        # Churn can legitimately double a plan; anything far beyond is a server that lies.
        return 3 * (max(totals) // stride + 1) + 4 * self.max_workers + 2 * self.max_repair_rounds + 10

    def _fetch_rest(self, pool: ThreadPoolExecutor, served: int, stride: int, start: int) -> None:
        next_offset = start
        end: int | None = None
        for page in self._pages:
            end = self._update_end(end, page, served)
        in_flight: dict[Future, int] = {}
        while True:
            limit_offset = self._plan_limit(end)
            while len(in_flight) < self.max_workers and next_offset < limit_offset:
                in_flight[pool.submit(self._fetch, next_offset, self.page_size)] = next_offset
                next_offset += stride
            self._planned = max(self._planned, len(self._pages) + len(in_flight))
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                in_flight.pop(future)
                end = self._update_end(end, future.result(), served)
            self._digest(final=False)
            if len(self._pages) > self._request_budget():
                raise PaginationError(
                    f"gave up after {len(self._pages)} pages: the server keeps serving rows beyond "
                    f"the totals it reports", provider=self.provider)

    def _digest(self, final: bool) -> None:
        """Hand arrived pages to ``digest``: a full batch while pulling, the rest at the end."""
        if self.digest is None:
            return
        with self._lock:
            waiting = self._pages[self._digested:]
        if waiting and (final or len(waiting) >= self.digest_batch):
            self._digested += len(waiting)
            self.digest(waiting)
            for page in waiting:
                page.release()  # raw JSON is several times the size of its typed rows

    def _update_end(self, end: int | None, page: Page, served: int) -> int | None:
        """The offset where the list ends, as known after ``page`` arrived (``None``: unknown)."""
        if self._ends_at(page, served):
            stop = page.offset + page.size
            if end is None or page.offset < end:
                return stop if end is None else min(end, stop)
            # An end signal beyond the known end with rows in it: the list grew.
            return stop if page.size else end
        if end is not None and page.offset >= end:
            # A full page beyond the known end: the list grew, keep planning.
            return None
        return end

    def _plan_limit(self, end: int | None) -> int:
        if end is not None:
            return end
        totals = self.report.totals_reported
        if totals and totals[-1] is not None:
            return max(totals[-1], 1)
        return 1 << 62

    # -- continuity ----------------------------------------------------------------------

    def _repair(self, pool: ThreadPoolExecutor, served: int, overlap: int) -> None:
        """Re-fetch from where the proven part of the list stops until it reaches the end.

        Pages that share a row (same id, same last activity) are linked: between them no
        row can have slipped by. The list is proven complete when the pages linked to the
        top page include one that ends the list. Otherwise fresh pages are fetched,
        concurrently, from the furthest proven page onwards, and linking is tried again.
        """
        if overlap == 0:
            return
        stride = max(1, served - overlap)
        for round_number in range(1, self.max_repair_rounds + 1):
            frontier = self._unproven_frontier(served)
            if frontier is None:
                return
            self.report.repair_rounds = round_number
            # Start inside the frontier page: rows may have slid either way since it was read.
            first = frontier.offset + max(0, frontier.size // 2 - overlap)
            offsets = [first + k * stride for k in range(self.max_workers)]
            self._planned = len(self._pages) + len(offsets)
            futures = [pool.submit(self._fetch, offset, self.page_size) for offset in offsets]
            self.report.pages_refetched += len(offsets)
            for future in futures:
                future.result()
        if self._unproven_frontier(served) is not None:
            raise PaginationError(
                f"pages still did not line up after {self.max_repair_rounds} rounds of re-fetching; "
                "the list changed faster than it could be read", provider=self.provider)

    def _unproven_frontier(self, served: int) -> Page | None:
        """``None`` when the pages linked to the top reach the end; else the furthest of them."""
        pages = sorted((page for page in self._pages if page.size),
                       key=lambda page: (page.offset, page.sequence))
        if not pages:
            return None
        self._check_offsets_honoured(pages)
        parent = list(range(len(pages)))

        def root(index: int) -> int:
            while parent[index] != index:
                parent[index] = parent[parent[index]]
                index = parent[index]
            return index

        owner: dict[Any, int] = {}
        for index, page in enumerate(pages):
            known = [key for key in page.keys if key is not None]
            if not known and index:
                # Rows without ids cannot prove anything: take the page as it comes.
                parent[root(index)] = root(index - 1)
            for key in known:
                if key in owner:
                    parent[root(index)] = root(owner[key])
                else:
                    owner[key] = index
        top_pages = [index for index, page in enumerate(pages) if page.offset == 0]
        tops = {root(index) for index in top_pages}
        linked = [page for index, page in enumerate(pages) if root(index) in tops]
        empty_end = any(page.size == 0 for page in self._pages)
        if any(self._ends_at(page, served) for page in linked):
            return None
        furthest = max(linked, key=lambda page: page.offset + page.size)
        if empty_end and not any(page.offset > furthest.offset for page in pages):
            # Nothing non-empty lies beyond the proven part, and an empty page ended the list.
            return None
        return furthest

    def _check_offsets_honoured(self, pages: list[Page]) -> None:
        """Refuse a server that serves the same rows whatever the offset.

        Live traffic can make two reads at different offsets match by chance (rows slid
        by exactly the difference); three cannot, short of a server ignoring ``offset``.
        """
        offsets_by_rows: dict[tuple, set[int]] = {}
        for page in pages:
            if page.size >= 2:
                offsets = offsets_by_rows.setdefault(tuple(page.keys), set())
                offsets.add(page.offset)
                if len(offsets) >= 3:
                    shown = sorted(offsets)[:3]
                    raise ResponseFormatError(
                        f"the server returned the same rows for offsets {shown}; "
                        "it does not seem to honour the offset parameter", provider=self.provider)

    # -- fetching ------------------------------------------------------------------------

    def _fetch(self, offset: int, limit: int) -> Page:
        page = self.fetch(offset, limit)
        if not isinstance(page.records, list):
            raise ResponseFormatError("page rows are not a list", provider=self.provider)
        # Asked now, while the page still holds its rows (they are dropped once converted).
        page.ends_list = bool(self.is_last(page)) if self.is_last is not None else False
        with self._lock:
            self._sequence += 1
            page.sequence = self._sequence
            self._pages.append(page)
            self.report.pages += 1
            self.report.rows_received += page.size
            if page.total is not None:
                self.report.totals_reported.append(page.total)
            done, planned = len(self._pages), max(self._planned, len(self._pages))
        if self.on_page is not None:
            self.on_page(done, planned)
        return page


def records_of(pages: Iterable[Page]) -> tuple[list[Any], pd.Series]:
    """All rows of ``pages``, and the arrival time of the response that carried each.

    The times come as one UTC timestamp column, built per page rather than per row.
    """
    pages = list(pages)
    records: list[Any] = []
    for page in pages:
        records.extend(page.records)
    moments = pd.Series([page.fetched_at for page in pages], dtype=object)
    stamps = pd.to_datetime(moments, utc=True).astype(TIMESTAMP)
    return records, stamps.repeat([page.size for page in pages]).reset_index(drop=True)
