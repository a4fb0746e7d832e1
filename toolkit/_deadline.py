"""The moment a pull must be over by: one per load, shared by its HTTP client and its passes.

Each request has its own timeout, but a server that stalls, trickles or keeps asking to
wait can keep a pull going for as long as retries and passes last. The deadline bounds
the whole load: no request starts, no retry waits and no pass keeps waiting past it.
"""

from __future__ import annotations

import time
from typing import Any

from ._errors import PullTimeoutError

#: Seconds a load may take by default: an hour is about 6,000 pages at Wassist's documented
#: 100 requests a minute, and far beyond any pull that is not stalled on an unpaced provider.
DEFAULT_DEADLINE = 3600.0


def check_deadline(deadline: Any) -> float | None:
    """``deadline`` as positive seconds, or ``None`` (no deadline); else ``ValueError``."""
    if deadline is None:
        return None
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0:
        raise ValueError(f"deadline must be a positive number of seconds or None, got {deadline!r}")
    if deadline == float("inf"):
        return None
    return float(deadline)


class Deadline:
    """A point in (monotonic) time after which the pull gives up.

    Parameters
    ----------
    seconds : float or None
        From now; ``None`` never expires.
    provider : str
        Named in the error.
    """

    def __init__(self, seconds: float | None, provider: str) -> None:
        self.seconds = seconds
        self.provider = provider
        self._at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or ``None`` without a deadline."""
        if self._at is None:
            return None
        return max(0.0, self._at - time.monotonic())

    def expired(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at

    def error(self) -> PullTimeoutError:
        return PullTimeoutError(provider=self.provider, deadline=self.seconds or 0.0)

    def check(self) -> None:
        """Raise :class:`PullTimeoutError` once the deadline has passed."""
        if self.expired():
            raise self.error()

    def cap(self, seconds: float) -> float:
        """``seconds``, or less if the deadline comes sooner (a little above 0 at the least)."""
        left = self.remaining()
        return seconds if left is None else max(0.001, min(seconds, left))
