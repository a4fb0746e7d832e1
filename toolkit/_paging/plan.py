"""Which offsets to ask for: the planning rules of an offset-paged list, without any I/O.

The counterpart of dlt's ``OffsetPaginator`` for a list read by several requests at
once: the first page tells the page size the server really serves and the total; the
rest of the list is planned from that at a stride that makes neighbouring pages overlap,
and every arriving page may move the known end of the list.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .pages import Page

# Planning has no end while no page has told one: an offset no list reaches.
UNBOUNDED = 1 << 62


def overlap_for(page_size: int) -> int:
    """Rows two neighbouring pages share once a list has shown that rows leave it: 4%.

    Up to ``overlap - 1`` rows can leave the part of the list above a page between two
    reads before neighbouring pages share no row (and need re-fetching).
    """
    if page_size < 3:
        return 0
    return max(1, page_size // 25)


#: Rows neighbouring pages share while a list shows no sign of rows leaving it. Rows that
#: join a list, or get new activity, land at its top and push the rest down, so pages read
#: later overlap their predecessors by more, never less: one shared row proves continuity.
LEAN_OVERLAP = 1


@dataclass(frozen=True)
class PageShape:
    """The pages of one list: the size asked, the size served, and the overlap between them.

    ``lean`` pages overlap by :data:`LEAN_OVERLAP` rows, the others by :func:`overlap_for`.
    """

    asked: int
    served: int
    lean: bool = False

    @property
    def overlap(self) -> int:
        wide = overlap_for(self.served)
        return min(LEAN_OVERLAP, wide) if self.lean else wide

    @property
    def stride(self) -> int:
        """Offsets between the starts of neighbouring pages."""
        return max(1, self.served - self.overlap)

    @classmethod
    def from_first(cls, asked: int, first: Page, *, lean: bool = False) -> PageShape:
        """The shape the first page shows: a server that caps pages serves fewer than asked."""
        if 0 < first.size < asked and not cls(asked, asked).ends_at(first):
            return cls(asked, first.size, lean)
        return cls(asked, asked, lean)

    def ends_at(self, page: Page) -> bool:
        """Whether the list ends with this page, by any of the stop conditions.

        An empty page, a page that says there is no next one, a page the caller's end test
        accepted, a page that reaches the total it reports, or a short page from a server
        that reports no total.
        """
        if page.size == 0 or page.has_next is False:
            return True
        if page.ends_list:
            return True
        if page.total is not None and page.offset + page.size >= page.total:
            return True
        # A short page that does not reach the total is a capped page, not the end.
        return page.size < min(self.served, page.limit) and page.total is None


def _capped(shape: PageShape, page: Page) -> bool:
    """Whether ``page`` shows a server serving fewer rows than ``shape`` says: short, and not
    the list's end by its total."""
    return (0 < page.size < min(shape.served, page.limit) and page.total is not None
            and page.offset + page.size < page.total and page.has_next is not False)


def moved_end(shape: PageShape, end: int | None, page: Page) -> int | None:
    """The offset where the list ends, as known after ``page`` arrived (``None``: unknown)."""
    if shape.ends_at(page):
        stop = page.offset + page.size
        if end is None or page.offset < end:
            return stop if end is None else min(end, stop)
        # An end signal beyond the known end with rows in it: the list grew.
        return stop if page.size else end
    if end is not None and page.offset >= end:
        # A full page beyond the known end: the list grew, keep planning.
        return None
    return end


class HeldTop(Protocol):
    """The top of a list that another read already holds, so that this one need not.

    A list read bottom-up (:class:`OffsetPlan` with ``held_top``) stops at the page whose
    first row lies within that held part: the rows above it are held already.
    """

    @property
    def expected_rows(self) -> int:
        """The list's length as foreseen (by the previous pull, say): where reading starts."""

    def rows(self, total: int) -> int:
        """Rows at the top of the list held elsewhere, at least, when the list reports ``total``."""

    def covers(self, page: Page) -> bool:
        """Whether every row above ``page``'s first row (and that row) is held elsewhere.

        Asked on the request thread while the page still holds its rows."""


class OffsetPlan:
    """The offsets of one pass over a list, learned from the pages as they arrive.

    Parameters
    ----------
    page_size : int
        The ``limit`` asked for.
    max_workers : int
        Requests in flight at once (the opening wave, a repair round, the budget).
    speculate : bool
        Open with ``max_workers`` pages at the offsets the asked size implies, before the
        first page has told the size served and the total.
    max_repair_rounds : int
        Rounds of re-fetching the budget allows for.
    held_top : HeldTop, optional
        Read the list bottom-up, from the page its foreseen length ends on, and stop at the
        highest page whose first row the held top is sure to hold (see :meth:`next_offset`):
        that page is the top of the proof (:attr:`top_offset`) when it :meth:`~HeldTop.covers`,
        else the caller reads on up to offset 0.

    Notes
    -----
    The chain starts lean (pages overlapping by one row). The first pair of neighbouring
    pages that share no row shows rows leaving the list: from then on the chain overlaps
    by :func:`overlap_for` rows, and the gap is re-fetched like any other.

    Not thread-safe: the caller serialises :meth:`observe` and :meth:`next_offset`.
    """

    def __init__(self, page_size: int, max_workers: int, *, speculate: bool = False,
                 max_repair_rounds: int = 25, held_top: HeldTop | None = None) -> None:
        self.guess = PageShape(page_size, page_size, lean=True)
        self.widened = False
        self._offsets: list[int] = []  # of the pages seen with ids, sorted
        self._seen: dict[int, tuple[int, set[Any]]] = {}  # offset -> (rows, continuity keys)
        self.max_workers = max(1, int(max_workers))
        self.max_repair_rounds = max_repair_rounds
        self._opening = self.max_workers if speculate else 1
        self.shape: PageShape | None = None
        self.end: int | None = None
        self.totals: list[int] = []
        # The largest of them, kept as they come: asked after every page (request_budget).
        self._largest_total = 0
        self.first_ended_list = False
        self._next: int | None = None
        self._chain_start: int | None = None
        self._repair_reach = -1
        self._stalled = 0
        self._from_top = False  # whether the last repair round started at the proof's top
        self._early: list[Page] = []
        self._first_total: int | None = None
        # Pages of one or two rows overlap by none, so their continuity goes unchecked: read
        # bottom-up, every row that lands on top between two reads would slip past a page.
        held_top = held_top if overlap_for(page_size) else None
        self.held_top = held_top
        #: The highest offset of the list read: where the continuity proof starts.
        self.top_offset = 0
        if held_top is not None:
            # Read bottom-up, a page read later lies higher in the list: rows that land on top
            # meanwhile push the ones it would share with the page below out of it. The wide
            # overlap from the start lets a few land between two reads.
            self.guess = PageShape(page_size, page_size, lean=False)
            self.widened = True
            # Bottom-up: the chain's page indexes from the last page of the foreseen length
            # down; pages beyond it (a list grown since) are asked first, top-down.
            self._down = max(0, math.ceil(max(0, held_top.expected_rows - page_size) / self.guess.stride))
            self._beyond = self._down + 1
            self._opening = min(self.max_workers, self._down + 1)
            self._upwards_asked = 0

    # -- what to ask for ---------------------------------------------------------------

    def opening_offsets(self) -> list[int]:
        """The first requests, sent before anything is known (offset 0 first; read
        bottom-up, the last pages of the foreseen length, the last first)."""
        if self.held_top is not None:
            first = self._down
            self._down -= self._opening
            self.top_offset = (self._down + 1) * self.guess.stride
            self._upwards_asked = self._opening
            return [k * self.guess.stride for k in range(first, first - self._opening, -1)]
        return [k * self.guess.stride for k in range(self._opening)]

    def next_offset(self) -> int | None:
        """The next offset of the chain, or ``None`` while nothing more is worth asking for now.

        ``None`` is not final: a page still in flight may move the end further.
        """
        if self.reads_upwards:
            return self._next_upwards()
        if self.shape is None or self._next is None or self._next >= self.limit():
            return None
        offset = self._next
        self._next += self.shape.stride
        return offset

    def _next_upwards(self) -> int | None:
        """Read bottom-up: pages beyond the foreseen end first, then up to the held top."""
        shape, held = self.shape, self.held_top
        if shape is None or held is None:
            return None  # the opening pages are all out; the first to come back tells the shape
        stride, limit = shape.stride, self.limit()
        if self._beyond * stride < limit:
            self._beyond += 1
            self._upwards_asked += 1
            return (self._beyond - 1) * stride
        stop = self._upward_stop(shape, held)
        while self._down >= stop:
            offset = self._down * stride
            self._down -= 1
            if offset < limit:
                self.top_offset = offset
                self._upwards_asked += 1
                return offset
        return None

    def _upward_stop(self, shape: PageShape, held: HeldTop) -> int:
        """The index of the page a bottom-up read stops at: the highest whose first row the
        held top is sure to hold, with room for rows that leave the list above it meanwhile
        (the page is checked when it comes back)."""
        held_rows = held.rows(self.totals[-1]) if self.totals else 0
        return max(0, (held_rows - 1 - overlap_for(shape.served)) // shape.stride)

    @property
    def reads_upwards(self) -> bool:
        """Whether the list is being read bottom-up (see ``held_top``)."""
        return self.held_top is not None and self._next is None

    def limit(self) -> int:
        """The offset planning stops at: the known end, else the latest total."""
        if self.end is not None:
            return self.end
        if self.totals:
            return max(self.totals[-1], 1)
        return UNBOUNDED

    def repair_offsets(self, frontier: Page) -> list[int]:
        """The next round of re-fetching, from inside ``frontier``, the furthest proven page.

        A round that did not move the frontier shows that the rows it held slid out of
        reach (many left the list above it, say): each such round in a row starts a
        round's width further up, up to the proof's top (:attr:`top_offset`). A round from
        there ends before the frontier, so when it moves nothing either, the next starts
        inside the frontier again.
        """
        shape = self.shape or self.guess
        reach = frontier.offset + frontier.size
        self._stalled = self._stalled + 1 if reach <= self._repair_reach else 0
        self._repair_reach = max(self._repair_reach, reach)
        # Start inside the frontier page: rows may have slid either way since it was read.
        inside = frontier.offset + max(0, frontier.size // 2 - shape.overlap)
        # Climbing stops at the proof's top (offset 0, or a bottom-up read's top page: the
        # rows above it are read elsewhere). A round from there that moved nothing either
        # cannot reach past the frontier: the next starts again from inside the frontier.
        top = self.top_offset
        first = inside - self._stalled * self.max_workers * shape.stride
        if first < top and self._from_top:
            self._stalled, first = 0, inside
        self._from_top = first <= top
        first = max(top, first)
        return [first + k * shape.stride for k in range(self.max_workers)]

    # -- what the pages said -----------------------------------------------------------

    def observe(self, page: Page) -> None:
        """Learn from an arrived page: the shape (from the first), totals, the end, gaps."""
        if page.total is not None:
            self.totals.append(page.total)
            self._largest_total = max(self._largest_total, page.total)
        self._watch_for_gaps(page)
        if self.shape is None:
            if page.offset == 0 or self.held_top is not None:
                self._learn(page)
            else:
                self._early.append(page)  # its end signal counts once the shape is known
            return
        if self.reads_upwards and _capped(self.shape, page):
            # The first page back ended the list, so it could not show that the server serves
            # fewer rows than asked; this one does.
            self._read_from_the_top(replace(self.shape, served=page.size))
        self.end = moved_end(self.shape, self.end, page)

    def _watch_for_gaps(self, page: Page) -> None:
        """Widen the overlap once a page and a neighbour meant to overlap it share no row."""
        keys = set(page.keys)
        keys.discard(None)
        if self.widened or not keys or page.offset in self._seen:
            return
        place = bisect.bisect(self._offsets, page.offset)
        neighbours = []
        if place:
            before = self._offsets[place - 1]
            if before + self._seen[before][0] > page.offset:
                neighbours.append(self._seen[before][1])
        if place < len(self._offsets):
            after = self._offsets[place]
            if page.offset + page.size > after:
                neighbours.append(self._seen[after][1])
        self._offsets.insert(place, page.offset)
        self._seen[page.offset] = (page.size, keys)
        if any(not (keys & other) for other in neighbours):
            self.widened = True
            self.guess = replace(self.guess, lean=False)
            if self.shape is not None:
                self.shape = replace(self.shape, lean=False)

    def _learn(self, first: Page) -> None:
        """The shape from the first page back: the one at offset 0, or any of a bottom-up read."""
        self.shape = shape = PageShape.from_first(self.guess.asked, first, lean=self.guess.lean)
        self._first_total = first.total
        for page in [first, *self._early]:
            self.end = moved_end(shape, self.end, page)
        self._early = []
        if self.held_top is not None:
            if shape.stride != self.guess.stride or first.total is None or not shape.overlap:
                self._read_from_the_top(shape)
            return
        if shape.ends_at(first):
            self.first_ended_list = True
            return
        # Guessed pages continue the chain only when their stride was the right one.
        self._next = self._opening * self.guess.stride if shape.stride == self.guess.stride else shape.stride
        self._chain_start = self._next

    def _read_from_the_top(self, shape: PageShape) -> None:
        """Give up reading bottom-up: pages smaller than asked (the offsets guessed are off the
        chain), or no total to tell where the list ends. Read it as usual, from the top down."""
        self.shape = shape
        self._next = 0
        self._chain_start = shape.stride
        self.top_offset = 0

    # -- what the plan amounts to ------------------------------------------------------

    def pages_planned(self) -> int | None:
        """Requests the pass needs as the first page's total foresees; ``None`` before it."""
        shape = self.shape
        if shape is None or (self._first_total is None and not self.first_ended_list):
            return None
        if self.reads_upwards:
            assert self.held_top is not None
            beyond = max(0, math.ceil((self.limit() - self._beyond * shape.stride) / shape.stride))
            above = max(0, self._down - self._upward_stop(shape, self.held_top) + 1)
            return self._upwards_asked + beyond + above
        if self.first_ended_list or self._chain_start is None:
            return self._opening
        total = self._first_total or 0
        chain = 1 + math.ceil(max(0, total - shape.served) / shape.stride)
        if self._chain_start == shape.stride:
            return self._opening - 1 + chain  # the guesses beyond the first were off the chain
        return max(self._opening, chain)

    def request_budget(self) -> int:
        """Requests a pass may make before the server counts as never letting the list end."""
        shape = self.shape or self.guess
        # Churn can legitimately double a plan; anything far beyond is a server that lies.
        return (3 * (self._largest_total // shape.stride + 1) + 4 * self.max_workers
                + 2 * self.max_repair_rounds + 10)
