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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pandas as pd

from ._errors import PaginationError, ResponseFormatError


@dataclass
class Page:
    """One page of a list as the server served it.

    Attributes
    ----------
    offset, limit : int
        What was asked for.
    records : list
        The rows, as raw JSON values.
    ids : list
        Each row's id (``None`` where it has none), used for overlap checks and dedupe.
    total : int or None
        The total the server reported with this page.
    has_next : bool or None
        ``False`` when the server said there is no next page, ``None`` when it did not say.
    fetched_at : pandas.Timestamp
        When the response arrived.
    sequence : int
        Order of arrival across the pull.
    """

    offset: int
    limit: int
    records: list[Any]
    ids: list[Any]
    total: int | None
    has_next: bool | None
    fetched_at: pd.Timestamp
    sequence: int = 0

    @property
    def size(self) -> int:
        return len(self.records)


FetchPage = Callable[[int, int], Page]


@dataclass
class PullReport:
    """What one pull observed; stored in ``df.attrs`` by the loaders."""

    pages: int = 0
    page_size_asked: int = 0
    page_size_served: int = 0
    overlap: int = 0
    totals_reported: list[int] = field(default_factory=list)
    gaps_refetched: int = 0
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
            "gaps_refetched": self.gaps_refetched,
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
    ) -> None:
        self.fetch = fetch
        self.provider = provider
        self.page_size = page_size
        self.max_workers = max(1, int(max_workers))
        self.is_last = is_last
        self.on_page = on_page
        self.max_repair_rounds = max_repair_rounds
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
        first = self._fetch(0, self.page_size)
        served = self._served_page_size(first)
        overlap = overlap_for(served)
        self.report.page_size_served = served
        self.report.overlap = overlap
        if not self._ends_at(first, served):
            with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="toolkit-page") as pool:
                self._fetch_rest(pool, served, served - overlap)
                self._repair(pool, served, overlap)
        self.report.finished_at = pd.Timestamp.now(tz="UTC")
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
        if self.is_last is not None and self.is_last(page):
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

    def _fetch_rest(self, pool: ThreadPoolExecutor, served: int, stride: int) -> None:
        stride = max(1, stride)
        next_offset = stride
        end: int | None = None
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
            if len(self._pages) > self._request_budget():
                raise PaginationError(
                    f"gave up after {len(self._pages)} pages: the server keeps serving rows beyond "
                    f"the totals it reports", provider=self.provider)

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
        """Re-fetch between neighbours that share no row until the chain is whole."""
        if overlap == 0:
            return
        tries: dict[tuple[int, int], int] = {}
        for round_number in range(1, self.max_repair_rounds + 1):
            gaps = self._gaps()
            if not gaps:
                return
            self.report.repair_rounds = round_number
            futures = []
            for before, after in gaps:
                key = (before.offset, after.offset)
                tries[key] = tries.get(key, 0) + 1
                # Start further back each time: rows slide towards the top when rows above
                # them leave the list.
                step = max(0, before.size - overlap) >> (tries[key] - 1)
                futures.append(pool.submit(self._fetch, before.offset + step, self.page_size))
                self.report.gaps_refetched += 1
            self._planned = len(self._pages) + len(futures)
            for future in futures:
                future.result()
        if self._gaps():
            raise PaginationError(
                f"pages still did not line up after {self.max_repair_rounds} rounds of re-fetching; "
                "the list changed faster than it could be read", provider=self.provider)

    def _gaps(self) -> list[tuple[Page, Page]]:
        chain = self._chain()
        gaps = []
        for before, after in zip(chain, chain[1:]):
            if before.ids == after.ids and before.size >= 2:
                raise ResponseFormatError(
                    f"the server returned the same rows for offsets {before.offset} and {after.offset}; "
                    "it does not seem to honour the offset parameter", provider=self.provider)
            known_before = set(before.ids) - {None}
            known_after = set(after.ids) - {None}
            # Rows without ids cannot prove continuity; such pages are taken as they come.
            if known_before and known_after and not known_before & known_after:
                gaps.append((before, after))
        return gaps

    def _chain(self) -> list[Page]:
        """Non-empty pages in offset order, the newest fetch of each offset, up to the end."""
        newest: dict[int, Page] = {}
        for page in self._pages:
            if page.size and (page.offset not in newest or page.sequence > newest[page.offset].sequence):
                newest[page.offset] = page
        chain = [newest[offset] for offset in sorted(newest)]
        # Pages wholly inside the previous one add nothing to the chain's reach.
        trimmed: list[Page] = []
        for page in chain:
            if trimmed and page.offset + page.size <= trimmed[-1].offset + trimmed[-1].size and page.offset > trimmed[-1].offset:
                continue
            trimmed.append(page)
        return trimmed

    # -- fetching ------------------------------------------------------------------------

    def _fetch(self, offset: int, limit: int) -> Page:
        page = self.fetch(offset, limit)
        if not isinstance(page.records, list):
            raise ResponseFormatError("page rows are not a list", provider=self.provider)
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


def records_of(pages: Iterable[Page]) -> tuple[list[Any], list[pd.Timestamp]]:
    """All rows of ``pages`` with the arrival time of the response that carried each."""
    records: list[Any] = []
    times: list[pd.Timestamp] = []
    for page in pages:
        records.extend(page.records)
        times.extend([page.fetched_at] * page.size)
    return records, times
