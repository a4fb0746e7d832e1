"""What a ``wa-toolkit`` command does when its surroundings fail: closed streams and signals.

Streams: stdout and stderr only ever carry messages (summaries, progress, errors), never
data, so a stream that fails (a pipe whose reader left, a closed terminal, a descriptor
closed before the start) must not stop the command. :func:`forgiving_streams` puts both
behind :class:`ForgivingStream`, which drops what it cannot write from the first failure
on; the files are written all the same.

Signals: SIGINT (Ctrl-C), SIGTERM (cron's timeout, ``kill``, a container being stopped) and
SIGHUP (the terminal closed) end the command at once with the shell's code for the
signal, 128 + its number (130, 143, 129), after removing any file still being written.
Files already written stay whole; a file being written never appears half-written. The
command does not wait for page requests still in flight, so a stalled server cannot
delay the exit. A signal that was ignored when the command started (``nohup``, a
background job) stays ignored.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, TextIO

from ._files import remove_unfinished

#: The signals that stop a command (each with exit code 128 + its number).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


def exit_code(signum: int) -> int:
    """The exit code of a command stopped by ``signum``, as a shell reports it."""
    return 128 + int(signum)


class ForgivingStream(io.TextIOBase):
    """A text stream in front of ``stream`` that never raises on write or flush.

    From the first failure on (a broken pipe, a closed terminal, a closed stream) it
    drops everything written to it, and points the failed descriptor at the null device
    so that the interpreter's own flush at exit does not fail on it again.

    Parameters
    ----------
    stream : text stream or None
        What to write to; ``None`` (the descriptor was closed before the start) drops all.
    """

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self.stream = stream
        self.failed = stream is None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.stream is not None and not self.failed:
            try:
                self.stream.write(text)
            except (OSError, ValueError):  # ValueError: the stream itself was closed
                self._give_up(self.stream)
        return len(text)

    def flush(self) -> None:
        if self.stream is not None and not self.failed:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self._give_up(self.stream)

    def isatty(self) -> bool:
        if self.stream is None or self.failed:
            return False
        try:
            return bool(self.stream.isatty())
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise io.UnsupportedOperation("the stream was closed before the start")
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:
        # Anything else a caller may ask of a console stream (buffer, errors, ...).
        if self.stream is None:
            raise AttributeError(name)
        return getattr(self.stream, name)

    def _give_up(self, stream: TextIO) -> None:
        self.failed = True
        try:
            descriptor = stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, descriptor)
            finally:
                os.close(null)
        except (OSError, ValueError):  # io.UnsupportedOperation is both
            pass  # not backed by a descriptor (a test's capture): nothing flushes it at exit


@contextlib.contextmanager
def forgiving_streams() -> Iterator[None]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` never raise (see :class:`ForgivingStream`).

    Standard descriptors closed before the start are first pointed at the null device,
    so that no file or connection the command opens can take their number and receive
    stray output.
    """
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != descriptor:
                os.dup2(null, descriptor)
                os.close(null)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ForgivingStream(saved[0]), ForgivingStream(saved[1])
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved


@contextlib.contextmanager
def stop_on_signals(program: str) -> Iterator[None]:
    """Within the block, :data:`STOP_SIGNALS` end the process at once (see the module's text).

    Only the main thread can take signals; elsewhere the block runs unchanged. Signals
    ignored on entry stay ignored. The previous handlers come back after the block.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        remove_unfinished()
        what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(OSError):
            os.write(2, f"{program}: {what}\n".encode())
        # Not sys.exit: unwinding would wait for page requests still in flight.
        os._exit(exit_code(signum))

    previous = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
