"""Offset pagination, shared by both providers: concurrent, chained, and self-checking.

The first page tells the total and the page size the server really serves. The rest of
the list is planned from that and fetched by a crew that keeps a fixed number of requests
in flight, each page overlapping its predecessor by a few rows. Because both lists are
ordered by recent activity and live traffic shifts rows between requests, the overlap is
checked: pages that share a row prove that no row slid between them. Where the proof
does not reach the end of the list, the hole is re-fetched (each time starting further
back) until the chain is whole.

Stop conditions: an empty page, a page that reaches the total it reports, a page that
says there is no next page, or a page the caller's ``is_last`` accepts. A hard budget on
requests ends a server that never lets the list end with :class:`PaginationError`.

The parts, each testable on its own:

- :mod:`.pages`: :class:`Page` and :class:`PullReport`, the data paging works on.
- :mod:`.plan`: :class:`OffsetPlan`, which offsets to ask for (no I/O).
- :mod:`.proof`: :func:`unproven_frontier`, whether the pages prove the list whole (pure).
- :mod:`.batches`: :class:`PageBatcher`, arrived pages handed on for conversion.
- :mod:`.slots`: :class:`SlotPool`, request slots shared by passes read at the same time.
- :mod:`.loop`: :class:`OffsetPuller`, the request threads and the loop that drives them.
"""

from .batches import PageBatcher
from .loop import OffsetPuller
from .pages import FetchPage, Page, PullReport, records_of
from .plan import HeldTop, OffsetPlan, PageShape, overlap_for
from .proof import ContinuityProof, check_offsets_honoured, unproven_frontier
from .slots import SlotPool

__all__ = [
    "FetchPage",
    "HeldTop",
    "OffsetPlan",
    "OffsetPuller",
    "Page",
    "PageBatcher",
    "PageShape",
    "PullReport",
    "SlotPool",
    "ContinuityProof",
    "check_offsets_honoured",
    "overlap_for",
    "records_of",
    "unproven_frontier",
]
