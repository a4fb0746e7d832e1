"""Whether a set of pages provably holds a whole list: a pure function of the pages.

Live traffic shifts rows between requests, so pages read at planned offsets can miss a
row that slid past the boundary between two of them. Two pages that share a row (same
id, same last activity) cannot have missed one between them: rows that did not change
keep their order, so what each page saw is an unbroken stretch of them and two stretches
with a row in common join into one. The list is proven whole when the pages joined to
the top page include one that ends the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ResponseFormatError
from .pages import Page
from .plan import PageShape


def unproven_frontier(pages: Sequence[Page], shape: PageShape) -> Page | None:
    """``None`` when the pages joined to the top reach the end; else the furthest of them.

    Parameters
    ----------
    pages : sequence of Page
        Every page of the pass, in any order, re-fetched ones included.
    shape : PageShape
        The pages' shape; its :meth:`~PageShape.ends_at` tells which pages end the list.

    Returns
    -------
    Page or None
        The page to re-fetch from, or ``None`` when nothing is left to prove.
    """
    if not any(page.offset == 0 for page in pages):
        raise ValueError("a proof needs a page read from the top (offset 0)")
    read = sorted((page for page in pages if page.size), key=lambda page: (page.offset, page.sequence))
    if any(page.offset == 0 and not page.size for page in pages):
        return None  # the list was empty when its top was read: no row stayed in it throughout
    parent = list(range(len(read)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[Any, int] = {}
    for index, page in enumerate(read):
        known = [key for key in page.keys if key is not None]
        if not known and index:
            # Rows without ids cannot prove anything: take the page as it comes.
            parent[root(index)] = root(index - 1)
        for key in known:
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    tops = {root(index) for index, page in enumerate(read) if page.offset == 0}
    joined = [page for index, page in enumerate(read) if root(index) in tops]
    if any(shape.ends_at(page) for page in joined):
        return None
    furthest = max(joined, key=lambda page: page.offset + page.size)
    beyond = any(page.offset > furthest.offset for page in read)
    if not beyond and any(_contradicts_total(page) for page in pages):
        # A server claiming rows it never serves: nothing non-empty lies beyond the proven
        # part, so the rows that exist are all there is.
        return None
    return furthest


def _contradicts_total(page: Page) -> bool:
    """An empty page whose own total says rows lie at its offset.

    An honest empty page only says the list was short when it was read; rows that stayed
    may have slid up past the pages already read since, so it proves nothing by itself.
    """
    return page.size == 0 and page.total is not None and page.total > page.offset


def check_offsets_honoured(pages: Sequence[Page], provider: str) -> None:
    """Refuse a server that serves the same rows whatever the offset.

    Such a server serves its top page at every offset. Live traffic can make reads at
    different offsets further down match (rows slid down by exactly the distance a repair
    round moved on, as often happens when many conversations move to the top), but the
    top of the list is where every moved row lands, so three reads matching the top page
    take a server ignoring ``offset``.

    Raises
    ------
    ResponseFormatError
        When three different offsets served the same rows.
    """
    offsets_by_rows: dict[tuple, set[int]] = {}
    for page in sorted(pages, key=lambda page: (page.offset, page.sequence)):
        if page.size >= 2:
            offsets = offsets_by_rows.setdefault(tuple(page.keys), set())
            offsets.add(page.offset)
            if len(offsets) >= 3 and 0 in offsets:
                shown = sorted(offsets)[:3]
                raise ResponseFormatError(
                    f"the server returned the same rows for offsets {shown}; "
                    "it does not seem to honour the offset parameter", provider=provider)
