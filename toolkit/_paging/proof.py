"""Whether a set of pages provably holds a whole list: a pure function of the pages.

Live traffic shifts rows between requests, so pages read at planned offsets can miss a
row that slid past the boundary between two of them. Two pages that share a row (same
id, same last activity) cannot have missed one between them: rows that did not change
keep their order, so what each page saw is an unbroken stretch of them and two stretches
with a row in common join into one. The list is proven whole when the pages joined to
the top page include one that ends the list.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

from .._errors import ResponseFormatError
from .pages import Page
from .plan import PageShape


def unproven_frontier(pages: Sequence[Page], shape: PageShape, top: int = 0) -> Page | None:
    """``None`` when the pages joined to the top reach the end; else the furthest of them.

    Parameters
    ----------
    pages : sequence of Page
        Every page of the pass, in any order, re-fetched ones included.
    shape : PageShape
        The pages' shape; its :meth:`~PageShape.ends_at` tells which pages end the list.
    top : int
        The offset the proof starts from (see :meth:`ContinuityProof.frontier`).

    Returns
    -------
    Page or None
        The page to re-fetch from, or ``None`` when nothing is left to prove.
    """
    proof = ContinuityProof()
    for page in pages:
        proof.add(page)
    return proof.frontier(shape, top)


class ContinuityProof:
    """:func:`unproven_frontier`, built up a page at a time as the pages arrive.

    Joining pages by the rows they share is a walk over every row; done as each page
    arrives, it runs while later pages are on the wire, and the question asked once
    they are all in (:meth:`frontier`) costs a walk over the pages only. Pages that share
    a row are joined whatever order they come in, so the answer is that of
    :func:`unproven_frontier` over the same pages.
    """

    def __init__(self) -> None:
        self._pages: list[Page] = []
        self._parent: list[int] = []
        # The first page holding each row's key.
        self._owner: dict[Any, int] = {}
        self._keyless: set[int] = set()

    def add(self, page: Page) -> None:
        """Take one more page of the pass (a re-fetched one too)."""
        index = len(self._pages)
        self._pages.append(page)
        self._parent.append(index)
        if not page.size:
            return
        owner = self._owner
        known = False
        for key in page.keys:
            if key is None:
                continue
            known = True
            first = owner.setdefault(key, index)
            if first != index:
                _join(self._parent, index, first)
        if not known:
            self._keyless.add(index)

    @property
    def rows_seen(self) -> int:
        """How many different rows (keys) the pages so far hold."""
        return len(self._owner)

    def frontier(self, shape: PageShape, top: int = 0) -> Page | None:
        """``None`` when the pages so far prove the list whole; else the page to re-fetch from.

        ``top`` is the offset the list is read from: 0, or where the rows above are held
        by another read (:class:`~toolkit._paging.plan.HeldTop`).
        """
        pages = self._pages
        if not any(page.offset == top for page in pages):
            raise ValueError(f"a proof needs a page read from its top (offset {top})")
        if any(page.offset == top and not page.size for page in pages):
            return None  # the list was empty when its top was read: no row stayed in it throughout
        read = sorted((index for index, page in enumerate(pages) if page.size),
                      key=lambda index: (pages[index].offset, pages[index].sequence))
        parent = self._parent
        if self._keyless:
            # Rows without ids cannot prove anything: such a page is taken as it comes, joined
            # to the page before it in the list (which later pages can change: on a copy).
            parent = parent.copy()
            for place, index in enumerate(read):
                if place and index in self._keyless:
                    _join(parent, index, read[place - 1])
        tops = {_root(parent, index) for index in read if pages[index].offset == top}
        joined = [pages[index] for index in read if _root(parent, index) in tops]
        if any(shape.ends_at(page) for page in joined):
            return None
        furthest = max(joined, key=lambda page: page.offset + page.size)
        beyond = any(pages[index].offset > furthest.offset for index in read)
        if not beyond and any(_contradicts_total(page) for page in pages):
            # A server claiming rows it never serves: nothing non-empty lies beyond the proven
            # part, so the rows that exist are all there is.
            return None
        return furthest


def _root(parent: list[int], index: int) -> int:
    while parent[index] != index:
        parent[index] = parent[parent[index]]
        index = parent[index]
    return index


def _join(parent: list[int], one: int, other: int) -> None:
    parent[_root(parent, one)] = _root(parent, other)


def _contradicts_total(page: Page) -> bool:
    """An empty page whose own total says rows lie at its offset.

    An honest empty page only says the list was short when it was read; rows that stayed
    may have slid up past the pages already read since, so it proves nothing by itself.
    """
    return page.size == 0 and page.total is not None and page.total > page.offset


def check_offsets_honoured(pages: Sequence[Page], provider: str, top: int = 0) -> None:
    """Refuse a server that serves the same rows whatever the offset.

    Such a server serves its top page at every offset: three reads matching the top page
    (see :func:`offsets_matching_the_top`) take a server ignoring ``offset``. A pass reads
    those offsets again before it refuses (``_Pass.check_offsets`` in the paging loop,
    judged by :func:`reads_follow_the_offset`): live traffic can line rows up that way.

    Raises
    ------
    ResponseFormatError
        When three different offsets, ``top`` among them, served the same rows.
    """
    matching = offsets_matching_the_top(pages, top)
    if matching is not None:
        raise offsets_ignored(matching[0], provider)


def too_few_rows_for_the_totals(pages: Sequence[Page], totals: Sequence[int], page_size: int,
                                held_above: int = 0, *, rows_read: int | None = None) -> str | None:
    """Why a pass proven whole cannot be the list its totals describe, or ``None``.

    A server that ignores ``offset`` serves its top page everywhere; when rows land on top
    between reads, no three of its pages match (:func:`offsets_matching_the_top`), yet every
    page joins the top one and a page at the offset where the total ends closes the proof. It
    then has served a page or two of distinct rows for a list of thousands. An honest list
    read whole holds every row that stayed throughout: fewer than half of the smallest total,
    and more than two pages short of it, would mean more than half the list left during one
    read. ``held_above`` rows above the pages are read elsewhere (a bottom-up read's top).
    A server whose total claims rows it serves as empty pages (:func:`_contradicts_total`)
    is taken at its rows instead, as :meth:`ContinuityProof.frontier` takes it.
    ``rows_read``, the different rows of ``pages`` when counted already
    (:attr:`ContinuityProof.rows_seen`), spares counting them again.
    """
    if not totals or any(_contradicts_total(page) for page in pages):
        return None
    least = min(totals)
    if rows_read is None:
        rows_read = len({key for page in pages for key in page.keys if key is not None})
    rows = held_above + rows_read
    if 2 * rows < least and least - rows > 2 * page_size:
        return (f"the server reports at least {least:,} rows but served {rows:,} different ones over "
                f"{len(pages)} pages; it does not seem to honour the offset parameter")
    return None


def offsets_ignored(offsets: Sequence[int], provider: str) -> ResponseFormatError:
    """The error for a server that served the same rows at ``offsets``."""
    return ResponseFormatError(f"the server returned the same rows for offsets {list(offsets)}; "
                               "it does not seem to honour the offset parameter", provider=provider)


def offsets_matching_the_top(pages: Sequence[Page], top: int = 0,
                             cleared: Set[tuple] = frozenset()) -> tuple[list[int], tuple] | None:
    """Three different offsets, ``top`` among them, whose pages held the same rows, and those
    rows (their keys in order, as :attr:`Page.keys`); else ``None``.

    A server that ignores ``offset`` serves its top page everywhere. Live traffic can make
    reads at different offsets further down match (rows slid down by exactly the distance a
    repair round moved on, as often happens when many conversations move to the top), and
    now and then reads of the top too (rows landing on top push the top page down by just
    the distance between two reads): hence three reads, and the top among them. ``top`` is
    where the pages' proof starts (a bottom-up read's top page, see
    :class:`~toolkit._paging.plan.HeldTop`): such a server serves that page's rows everywhere too.
    Pages holding rows in ``cleared`` are passed over: reads that
    :func:`reads_follow_the_offset` showed lined up by chance.
    """
    offsets_by_rows: dict[tuple, set[int]] = {}
    for page in sorted(pages, key=lambda page: (page.offset, page.sequence)):
        rows = tuple(page.keys)
        if page.size >= 2 and rows not in cleared:
            offsets = offsets_by_rows.setdefault(rows, set())
            offsets.add(page.offset)
            if len(offsets) >= 3 and top in offsets:
                return sorted(offsets)[:3], rows
    return None


def reads_follow_the_offset(pages: Sequence[Page]) -> bool:
    """Whether pages read again at offsets that had served the same rows now show the rows
    those offsets hold: the nearest and the furthest at least a page apart, and sharing
    fewer than half their rows.

    A server ignoring ``offset`` serves its top page at both, give or take the rows that
    landed on top in between: they share most of their rows. Pages of fewer than two rows,
    or offsets too close for an honest list to show other rows, prove nothing.
    """
    read = sorted((page for page in pages if page.size >= 2), key=lambda page: page.offset)
    if len(read) < len(pages) or not read:
        return False
    nearest, furthest = read[0], read[-1]
    smaller = min(nearest.size, furthest.size)
    if furthest.offset - nearest.offset < smaller:
        return False
    shared = (set(nearest.keys) & set(furthest.keys)) - {None}
    return 2 * len(shared) < smaller
