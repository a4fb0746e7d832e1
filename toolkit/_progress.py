"""Progress bars for pulls: shown when someone is watching, silent otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


def is_interactive() -> bool:
    """Whether a person is likely watching: a terminal on stderr, or a Jupyter kernel."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


@contextlib.contextmanager
def progress_callback(progress: bool | None,
                      description: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A ``(done, planned)`` callback that drives a bar, or ``None`` when no bar is wanted.

    Parameters
    ----------
    progress : bool or None
        ``None`` shows a bar only when :func:`is_interactive`; ``True``/``False`` force it.
    description : str
        Shown before the bar; never holds a key (it is built from provider names).
    """
    if progress is None:
        progress = is_interactive()
    if not progress:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=1, desc=description, unit="page", leave=False, file=sys.stderr)

    def update(done: int, planned: int | None) -> None:
        planned = max(planned or 1, done)
        if planned != bar.total:
            bar.total = planned
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
