"""Progress of a load: shown when someone is watching, never able to stop a pull.

One :class:`Progress` per load, one bar per pass (the list, its sweep, Wassist's unread
list). Only the thread that called the loader touches a bar: the paging engine reports
pages to it, never from its request threads. A display that fails in any way (a closed
or broken stream, a notebook widget that raises, anything inside tqdm) switches progress
off for the rest of the load, with one warning, and the pull goes on.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
import warnings
from collections.abc import Iterator
from typing import IO, Any

from ._redact import redact

#: Seconds between two redraws of a bar (tqdm's own default).
REDRAW_INTERVAL = 0.1


def _jupyter_kernel() -> bool:
    """Whether this process is a Jupyter kernel."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and getattr(shell, "kernel", None) is not None


def is_interactive() -> bool:
    """Whether a person is likely watching: a terminal on stderr, or a Jupyter kernel."""
    if _jupyter_kernel():
        return True
    stream = sys.stderr
    try:
        return bool(stream.isatty())
    except Exception:  # a closed or replaced stream: nobody is watching it
        return False


def _widgets_available() -> bool:
    """Whether notebook bars can be drawn (``ipywidgets``, from the ``notebooks`` extra)."""
    try:
        importlib.import_module("ipywidgets")
    except Exception:
        return False
    return True


class _GuardedStream:
    """A text stream that never raises: the first failure is kept and output stops.

    tqdm writes while holding its lock and does not release it when a write raises
    (a ``BrokenPipeError`` once left every later bar waiting forever), so nothing it
    writes to may raise.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.failure: BaseException | None = None
        self.encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        if self.failure is None:
            try:
                self._stream.write(text)
            except Exception as exc:
                self.failure = exc
        return len(text)

    def flush(self) -> None:
        if self.failure is None:
            try:
                self._stream.flush()
            except Exception as exc:
                self.failure = exc


def _width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except Exception:  # not a terminal, or no such stream any more
        return 100


def _bar_class() -> tuple[Any, bool]:
    """A notebook bar in a Jupyter kernel with ``ipywidgets``, else a text bar; and which one."""
    notebook = _jupyter_kernel() and _widgets_available()
    base: Any
    if notebook:
        from tqdm.notebook import tqdm as notebook_bar

        base = notebook_bar
    else:
        from tqdm.std import tqdm as text_bar

        base = text_bar
    # tqdm's monitor thread would redraw from another thread; bars here are redrawn
    # only by the thread that owns them.
    return type("PageBar", (base,), {"monitor_interval": 0}), notebook


def _is_widget_bar(kind: Any) -> bool:
    """Whether ``kind`` is tqdm's notebook bar, which this module shows in an output of its own."""
    from tqdm.notebook import tqdm as notebook_bar

    return isinstance(kind, type) and issubclass(kind, notebook_bar)


class _Bar:
    """One pass's bar; every call into tqdm goes through :meth:`_guard`."""

    def __init__(self, owner: Progress, description: str) -> None:
        self.owner = owner
        self.stream = _GuardedStream(owner.stream)
        self.bar: Any = None
        self.total: int | None = None
        self._drawn_at = 0.0
        #: The notebook output the widget is shown in (IPython's ``DisplayHandle``), else ``None``.
        self.shown_in: Any = None
        self._guard(self._open, description)

    def _open(self, description: str) -> None:
        kind, notebook = _bar_class()
        # A text bar as wide as the terminal; a notebook bar sizes itself.
        width = None if notebook else _width(self.owner.stream)
        # smoothing=0: the rate and the time left come from the average rate since the start.
        widget = notebook and _is_widget_bar(kind)
        options = {"display": False} if widget else {}
        self.bar = kind(total=None, desc=description, unit="page", leave=False, file=self.stream, ncols=width,
                        mininterval=REDRAW_INTERVAL, smoothing=0, disable=False, **options)
        if widget:
            from IPython.display import display

            # Shown under an id, so that closing can empty the output (see close).
            self.shown_in = display(self.bar.container, display_id=True)

    def update(self, done: int, planned: int | None) -> None:
        """``done`` pages of ``planned`` (``None``: not known); the total never goes down."""
        if self.bar is None or not self.owner.shown:
            return
        total = self.total
        if planned is not None:
            total = max(total or 0, planned)
        if total is not None:
            total = max(total, done)  # more pages than foreseen: the list grew
        if self.bar.postfix:  # a page came: whatever held them up is over
            self.bar.postfix = ""
            self._drawn_at = 0.0
        now = time.monotonic()
        if total == self.total and now - self._drawn_at < REDRAW_INTERVAL and done != total:
            return
        self._drawn_at = now
        self._guard(self._draw, done, total)

    def _draw(self, done: int, total: int | None) -> None:
        if total != self.total:
            self.total = self.bar.total = total
        self.bar.n = done
        self.bar.refresh(nolock=True)  # only this thread draws this bar: no lock to leave held

    def note(self, text: str | None) -> None:
        """Show ``text`` after the counts (``None``: nothing), e.g. why no page arrives."""
        if self.bar is None or not self.owner.shown or (text or "") == (self.bar.postfix or ""):
            return
        self._guard(self._note, text or "")

    def _note(self, text: str) -> None:
        self.bar.postfix = text
        self.bar.refresh(nolock=True)

    def close(self) -> None:
        # Also after a failure: closing is what takes the bar off tqdm's list of bars on
        # screen (a failed display raising again here is not reported twice).
        if self.bar is not None:
            self._guard(self.bar.close)
        if self.shown_in is not None:
            # The widget hides itself, but a saved notebook keeps its output, and every viewer
            # without the widget (GitHub, an HTML export) showed "0page [00:00, ?page/s]": the
            # text it had when shown. Emptied, as a text bar clears its line.
            shown_in, container = self.shown_in, getattr(self.bar, "container", None)
            self._guard(lambda: shown_in.update({"text/plain": ""}, raw=True))
            if container is not None:
                # tqdm keeps the widget of a pass that failed (its red bar); emptied, it is
                # closed too, or the kernel would hold one for every failed pull.
                self._guard(container.close)
            self.shown_in = None
        self.bar = None

    def _guard(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as exc:
            self.owner.fail(exc)
            return
        if self.stream.failure is not None:
            self.owner.fail(self.stream.failure)


class Progress:
    """The progress display of one load.

    Parameters
    ----------
    show : bool or None
        ``None`` shows bars only when :func:`is_interactive`; ``True``/``False`` force it.
    provider : str
        Starts each bar's description; descriptions never hold a key.
    stream : text stream, optional
        Where text bars go (default: ``sys.stderr`` as it is when the load starts).
    """

    def __init__(self, show: bool | None, provider: str, stream: IO[str] | None = None) -> None:
        self.shown = is_interactive() if show is None else bool(show)
        self.provider = provider
        self.stream = stream if stream is not None else sys.stderr
        self.failure: BaseException | None = None

    @contextlib.contextmanager
    def bar(self, label: str) -> Iterator[_Bar | None]:
        """A bar for one pass, ``None`` when progress is off; closed afterwards."""
        if not self.shown:
            yield None
            return
        bar = _Bar(self, f"{self.provider}: {label}")
        try:
            yield bar if self.shown else None
        finally:
            bar.close()

    def fail(self, exc: BaseException) -> None:
        """Switch progress off for the rest of the load, with one warning."""
        if not self.shown:
            return
        self.shown = False
        self.failure = exc
        try:
            reason = f"{type(exc).__name__}: {redact(str(exc))[:200]}"
            warnings.warn(f"{self.provider}: progress display failed ({reason}); progress is off for "
                          "the rest of this pull, which goes on", RuntimeWarning, stacklevel=2)
        except Exception:  # the warning's own stream may be the one that failed, or warnings are errors
            pass
