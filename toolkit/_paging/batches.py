"""Arrived pages handed on in batches, so their rows are converted while others are in flight."""

from __future__ import annotations

from collections.abc import Callable

from .pages import Page


class PageBatcher:
    """Collect arrived pages and hand them to ``digest`` a batch at a time.

    Each page reaches ``digest`` exactly once, in arrival order; afterwards it drops its
    raw rows (:meth:`Page.release`), keeping its keys and size for the continuity proof.

    Parameters
    ----------
    digest : callable or None
        ``digest(pages)``; ``None`` keeps every page's rows and hands nothing on.
    batch : int
        Pages per call, except the last call (:meth:`flush`).
    """

    def __init__(self, digest: Callable[[list[Page]], None] | None, batch: int = 100) -> None:
        self.digest = digest
        self.batch = max(1, batch)
        self._waiting: list[Page] = []

    def add(self, page: Page) -> None:
        """Take an arrived page; hand on a full batch."""
        if self.digest is None:
            return
        self._waiting.append(page)
        if len(self._waiting) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Hand on every page still waiting."""
        waiting, self._waiting = self._waiting, []
        if waiting and self.digest is not None:
            self.digest(waiting)
            for page in waiting:
                page.release()  # raw JSON is several times the size of its typed rows
