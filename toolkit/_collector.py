"""Python's cyclic garbage collector, paused while pages are read and converted.

A page decodes into a hundred dicts and their lists; pages wait in batches for their
conversion, long enough to outlive the collector's young generations. The collector then
walks them again and again, and every few pages walks the whole heap (pandas, pyarrow,
the notebook's own objects) in a full collection: a fifth of a pull's CPU, measured, for
nothing, since a pull frees everything it makes by reference counting (a pull leaves no
cycle behind; ``tests/test_collector.py`` checks it). msgpack's documentation gives the
same advice for large unpacking.

The pause is shared: concurrent pulls (both providers at once, a watch) hold it
together, and the collector comes back as it was when the last one ends, errors included.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_holders = 0
_paused_by_us = False


def pause() -> None:
    """Hold the pause: the collector stops if it was running. Pair with :func:`resume`."""
    global _holders, _paused_by_us
    with _lock:
        if _holders == 0:
            _paused_by_us = gc.isenabled()
            if _paused_by_us:
                gc.disable()
        _holders += 1


def resume() -> None:
    """Release the pause; the last holder restarts the collector if :func:`pause` stopped it."""
    global _holders, _paused_by_us
    with _lock:
        _holders = max(0, _holders - 1)
        if _holders == 0 and _paused_by_us:
            _paused_by_us = False
            gc.enable()
