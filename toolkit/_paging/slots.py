"""Request slots shared by passes that read at the same time, the urgent ones served first."""

from __future__ import annotations

import threading


class SlotPool:
    """``size`` requests in flight at most, across every pass that holds this pool.

    Two lists read at once used to split the slots for good (a quarter and three quarters,
    say): a short list that ends early, or grows from one request, left its share idle
    while the long one still had waves to go. With one pool each pass takes what it can use
    up to its own cap, and the rest go to the other.

    A waiting request of an ``urgent`` pass (one whose end others wait for) takes the next
    free slot before any other waiting request.

    Parameters
    ----------
    size : int
        Requests in flight at once, over all passes.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a slot pool needs at least one slot, got {size}")
        self.size = size
        self._free = size
        self._urgent_waiting = 0
        self._changed = threading.Condition()

    def acquire(self, *, urgent: bool = False) -> None:
        """Wait for a free slot and take it."""
        with self._changed:
            if urgent:
                self._urgent_waiting += 1
                try:
                    while not self._free:
                        self._changed.wait()
                finally:
                    self._urgent_waiting -= 1
                    # Others may have stood aside for this request while a slot was free.
                    self._changed.notify_all()
            else:
                while not self._free or self._urgent_waiting:
                    self._changed.wait()
            self._free -= 1

    def release(self) -> None:
        """Give a slot back."""
        with self._changed:
            if self._free >= self.size:
                raise RuntimeError("a slot was given back that was never taken")
            self._free += 1
            self._changed.notify_all()

    @property
    def in_use(self) -> int:
        """Slots taken now."""
        with self._changed:
            return self.size - self._free
