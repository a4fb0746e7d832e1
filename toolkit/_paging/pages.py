"""What paging works on: a page as the server served it, and what one pass observed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._schema import NAIVE_TIMESTAMP, utc_column


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
        The caller's end test (``is_last``) said nothing beyond this page is needed.
    held_above : bool
        Every row above this page's first is held by another read (see
        :class:`~toolkit._paging.plan.HeldTop`): the page may be the top of a bottom-up read.
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
    held_above: bool = False
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


#: ``fetch(offset, limit) -> Page``: one request; raises typed errors.
FetchPage = Callable[[int, int], Page]


@dataclass
class PullReport:
    """What one pass observed; stored in ``df.attrs`` by the loaders."""

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
    #: Rows at the top of the list left unread because another read holds them (the offset
    #: a bottom-up read's proof starts from; see :class:`~toolkit._paging.plan.HeldTop`).
    rows_held_above: int = 0

    def record(self, page: Page) -> None:
        """Count an arrived page."""
        self.pages += 1
        self.rows_received += page.size
        if page.total is not None:
            self.totals_reported.append(page.total)

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
            "rows_held_above": self.rows_held_above,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def records_of(pages: Iterable[Page]) -> tuple[list[Any], pd.Series]:
    """All rows of ``pages``, and the arrival time of the response that carried each.

    The times come as one UTC timestamp column, built per page rather than per row.
    """
    pages = list(pages)
    records: list[Any] = []
    for page in pages:
        records.extend(page.records)
    # As integers, in NumPy: pandas' parsing of a list of moments costs more than a small
    # page's whole conversion (a one-page sweep pays it in full).
    micros = np.array([pd.Timestamp(page.fetched_at).value // 1000 if page.fetched_at is not None
                       else np.iinfo(np.int64).min for page in pages], dtype=np.int64)
    return records, utc_column(np.repeat(micros, [page.size for page in pages]).view(NAIVE_TIMESTAMP))
