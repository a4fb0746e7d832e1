"""The toolkit's one reading of the wall clock for data: when a response arrived.

Arrival times become ``fetched_at`` and the moment :func:`toolkit.refresh` recomputes
windows as of. Reading them through one function lets tests stop the clock
(:func:`frozen`) together with the sandbox's (:meth:`toolkit.sandbox.Sandbox.freeze`), so
two pulls taken one after the other see the very same windows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pandas as pd

__all__ = ["utc_now", "frozen"]

_frozen_at: pd.Timestamp | None = None


def utc_now() -> pd.Timestamp:
    """Now, as a UTC timestamp (the frozen moment inside :func:`frozen`)."""
    return _frozen_at if _frozen_at is not None else pd.Timestamp.now(tz="UTC")


@contextlib.contextmanager
def frozen(moment: Any) -> Iterator[pd.Timestamp]:
    """Stop the toolkit's clock at ``moment`` (naive means UTC) until the block ends.

    Meant for tests and benchmarks; every thread sees the same frozen moment.
    """
    global _frozen_at
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    before, _frozen_at = _frozen_at, stamp
    try:
        yield stamp
    finally:
        _frozen_at = before
