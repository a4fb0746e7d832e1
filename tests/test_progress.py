"""Progress bars: drawn by the calling thread only, honest totals, and never able to stop a pull."""

from __future__ import annotations

import io
import math
import sys
import threading
import warnings

import pytest
from tqdm.std import tqdm

import toolkit as tk
from toolkit import _progress
from toolkit._progress import Progress

from .helpers import briq, wassist


class RecordingBar(tqdm):
    """A text bar that remembers every drawing: the thread, the pages done, the total."""

    monitor_interval = 0
    drawings: list[tuple[str, str, int, int | None]] = []

    def display(self, msg=None, pos=None):
        RecordingBar.drawings.append((self.desc, threading.current_thread().name, self.n, self.total))
        return super().display(msg, pos)


@pytest.fixture
def recorded(monkeypatch):
    RecordingBar.drawings = []
    monkeypatch.setattr(_progress, "_bar_class", lambda: (RecordingBar, False))
    return RecordingBar.drawings


def pull_in_thread(load, sandbox, **kwargs):
    """Run a load on a thread of its own, so that a hang fails the test instead of stopping it."""
    result: dict = {}

    def run() -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result["frame"] = load(sandbox, **kwargs)
            except BaseException as exc:  # reported by the test below
                result["error"] = exc
        result["warnings"] = [str(item.message) for item in caught]

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the pull hung"
    if "error" in result:
        raise result["error"]
    return result["frame"], result["warnings"]


class FailingStream(io.StringIO):
    """stderr that accepts a few writes, then fails the way a closed pipe or file does."""

    def __init__(self, error: Exception, after: int = 3) -> None:
        super().__init__()
        self.error = error
        self.left = after

    def write(self, text: str) -> int:
        self.left -= 1
        if self.left < 0:
            raise self.error
        return super().write(text)

    def flush(self) -> None:
        if self.left < 0:
            raise self.error


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"),
                                   ValueError("I/O operation on closed file.")])
def test_a_stream_that_breaks_mid_pull_turns_progress_off_with_one_warning(make_sandbox, monkeypatch, error):
    sandbox = make_sandbox(briq_conversations=3000)
    monkeypatch.setattr(sys, "stderr", FailingStream(error))
    frame, messages = pull_in_thread(briq, sandbox, progress=True, page_size=25)
    assert len(frame) == 3000
    assert len([text for text in messages if "progress display failed" in text]) == 1
    assert messages == [text for text in messages if "progress display failed" in text]


def test_a_display_that_raises_anything_turns_progress_off_and_the_pull_goes_on(sandbox, monkeypatch):
    class BrokenWidget(tqdm):
        monitor_interval = 0

        def display(self, msg=None, pos=None):
            if self.n:
                raise RuntimeError("the widget is gone")
            return super().display(msg, pos)

    monkeypatch.setattr(_progress, "_bar_class", lambda: (BrokenWidget, True))
    frame, messages = pull_in_thread(wassist, sandbox, progress=True, page_size=20, rate_limit=None)
    assert len(frame) == 230
    assert len(messages) == 1 and "the widget is gone" in messages[0]  # one, for all four passes


def test_bars_are_drawn_by_the_calling_thread_only(make_sandbox, recorded):
    sandbox = make_sandbox(briq_conversations=2000)
    briq(sandbox, progress=True, page_size=25)
    assert recorded and {thread for _, thread, _, _ in recorded} == {threading.current_thread().name}


def test_the_total_is_the_pages_the_first_page_foresees_and_never_moves(make_sandbox, recorded):
    sandbox = make_sandbox(briq_conversations=1000)
    briq(sandbox, progress=True, page_size=25)
    main = [(done, total) for desc, _, done, total in recorded if desc == "briq: conversations"]
    totals = {total for _, total in main if total is not None}
    # 1,000 rows, 25 a page, overlapping by one: the first page and ceil(975 / 24) more.
    assert totals == {1 + math.ceil(975 / 24)}
    assert max(done for done, _ in main) == 42
    # The sweep is a bar of its own; Briq's sweep stops at old rows, so it has no total.
    sweep = [total for desc, _, _, total in recorded if desc == "briq: conversations (sweep)"]
    assert sweep and set(sweep) == {None}


def test_a_total_only_grows_and_reaches_the_pages_done():
    stream = io.StringIO()
    progress = Progress(True, "briq", stream=stream)
    with progress.bar("conversations") as bar:
        assert bar is not None
        bar.update(1, None)
        assert bar.total is None
        for done, planned in [(2, 10), (3, 8), (9, 10)]:
            bar.update(done, planned)
            assert bar.total == 10
        bar.update(12, 10)  # the list grew under the pull
        assert bar.total == 12


def test_the_terminal_bar_shows_rate_and_time_left(make_sandbox, monkeypatch):
    sandbox = make_sandbox(briq_conversations=1000)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    briq(sandbox, progress=True, page_size=25)
    text = stream.getvalue()
    assert "/42 [" in text and "page/s]" in text and "<" in text
    assert sandbox.config.briq_key not in text


def test_in_a_notebook_without_ipywidgets_a_text_bar_and_no_warning(sandbox, monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_jupyter_kernel", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # importing it fails
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = briq(sandbox, progress=None, page_size=25)
    assert len(frame) == 260
    assert [str(item.message) for item in caught] == []
    assert "briq: conversations" in capsys.readouterr().err


def test_a_closed_stderr_means_nobody_is_watching(sandbox, monkeypatch):
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    assert not _progress.is_interactive()
    assert len(briq(sandbox, progress=None)) == 260


def test_progress_never_shows_in_a_pull_that_did_not_ask(sandbox, recorded):
    briq(sandbox, progress=False)
    assert recorded == []


def test_errors_of_the_pull_still_reach_the_caller_with_progress_on(sandbox, monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with pytest.raises(tk.AuthenticationError):
        tk.load_briq("wrong-key", sandbox.base_url, progress=True)


def test_a_pull_held_up_by_retries_says_so_on_its_bar(make_sandbox, monkeypatch):
    # Three rate-limited answers in a row, each asking for 0.6 s: no page for well over a
    # second, and the bar says why instead of sitting still.
    sandbox = make_sandbox(briq_conversations=150, retry_after=0.6)
    sandbox.force("429", "429", "429")
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    frame = briq(sandbox, progress=True, max_workers=1)
    text = stream.getvalue()
    assert len(frame) == 150
    assert "retrying: HTTP 429, attempt " in text
    assert sandbox.config.briq_key not in text
