"""Arrived pages handed on in batches, so their rows are converted while others are in flight."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future

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
        Pages per call, except the last call (:meth:`flush`) and the one that makes room
        for a short last call (see :meth:`add`).
    executor : Executor, optional
        Runs each call instead of the calling thread; it must run them one at a time, in
        order (one thread). The calling thread is then free to take the next pages and to
        move on once they are all in: the last batch is converted while the next request
        is on the wire. :meth:`wait` waits for every call and raises what one raised.
    """

    def __init__(self, digest: Callable[[list[Page]], None] | None, batch: int = 100,
                 executor: Executor | None = None) -> None:
        self.digest = digest
        self.batch = max(1, batch)
        self.executor = executor
        self._waiting: list[Page] = []
        self._handed: list[Future[None]] = []
        self._tail_reached = False

    @property
    def tail(self) -> int:
        """Pages the last call holds at most, when the pages still to come are known."""
        return max(1, self.batch // 4)

    def add(self, page: Page, to_come: int | None = None) -> None:
        """Take an arrived page; hand on a full batch.

        ``to_come`` (pages still expected, when known) lets the batch before the last go
        early: once no more than :attr:`tail` pages are to come, whatever waits is handed
        on, so that the call made once every page is in (whoever waits for it waits for
        that call alone) converts a few pages, not up to a whole batch.
        """
        if self.digest is None:
            return
        self._waiting.append(page)
        if len(self._waiting) >= self.batch:
            self.flush()
        elif to_come is not None and 0 < to_come <= self.tail and not self._tail_reached:
            self._tail_reached = True
            self.flush()

    def flush(self) -> None:
        """Hand on every page still waiting."""
        waiting, self._waiting = self._waiting, []
        if not waiting or self.digest is None:
            return
        if self.executor is None:
            self._digest(waiting)
        else:
            self._handed.append(self.executor.submit(self._digest, waiting))

    def wait(self) -> None:
        """Wait until every page handed on is digested; raise the first error a digest raised."""
        handed, self._handed = self._handed, []
        for call in handed:
            call.result()

    def _digest(self, pages: list[Page]) -> None:
        assert self.digest is not None
        self.digest(pages)
        for page in pages:
            page.release()  # raw JSON is several times the size of its typed rows
