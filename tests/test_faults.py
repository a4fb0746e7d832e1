"""The fault matrix: what happens around a pull (streams, signals, disks), end to end.

Every case runs the real command in a child process against a real server on loopback
(the sandbox, or a server that accepts connections and never answers), or the Python
API on real files. A child is started as a shell starts a command: the stop signals at
their defaults, whatever this test runner inherited.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import toolkit as tk

from .helpers import FAST_RETRY

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parent.parent

#: Runs ``toolkit.cli.main`` in a fresh interpreter, set up by a JSON of options:
#: ``file_size_limit`` (RLIMIT_FSIZE, so that writes fail with EFBIG as on a full disk) and
#: ``slow_disk`` (a file to create when the CSV is flushed to disk, which then takes a
#: minute: a signal sent once that file exists arrives while a file is being written).
LAUNCHER = """
import json, os, signal, sys
options = json.loads(sys.argv[1])
signal.signal(signal.SIGINT, signal.default_int_handler)
for name in ("SIGTERM", "SIGHUP"):
    signal.signal(getattr(signal, name), signal.SIG_DFL)
if options.get("file_size_limit"):
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (options["file_size_limit"],) * 2)
if options.get("slow_disk"):
    import time
    def slow_fsync(descriptor, fsync=os.fsync, marker=options["slow_disk"]):
        open(marker, "w").close()
        time.sleep(60)
        fsync(descriptor)
    os.fsync = slow_fsync
from toolkit.cli import main
sys.exit(main(sys.argv[2:]))
"""

SIGNALS = [pytest.param(signal.SIGINT, 130, "interrupted", id="SIGINT"),
           pytest.param(signal.SIGTERM, 143, "stopped by SIGTERM", id="SIGTERM"),
           pytest.param(signal.SIGHUP, 129, "stopped by SIGHUP", id="SIGHUP")]


def command(*args: str, **options) -> list[str]:
    """The argument list that runs ``wa-toolkit ARGS`` through :data:`LAUNCHER`."""
    return [sys.executable, "-c", LAUNCHER, json.dumps(options), *args]


def environment(base_url: str, key_source=None) -> dict[str, str]:
    """This process's environment with both providers pointed at ``base_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WASSIST_", "BRIQ_"))}
    keys = key_source.config if key_source is not None else SimpleNamespace(
        wassist_key="sandbox-wassist-key", briq_key="sandbox-briq-key")
    env.update({"WASSIST_API_KEY": keys.wassist_key, "WASSIST_BASE_URL": base_url,
                "BRIQ_API_KEY": keys.briq_key, "BRIQ_BASE_URL": base_url})
    return env


def start(args: list[str], env: dict[str, str], **popen) -> subprocess.Popen:
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(args, env=env, cwd=ROOT, **popen)


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    """Exit code, stdout and stderr; a child still running after ``timeout`` fails the test."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"still running {timeout:g} s later: {process.args[3:]}")
    return process.returncode, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace")


def wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.02)


def previous_file(folder: Path, name: str = "conversations.csv") -> tuple[Path, bytes]:
    """An earlier export at ``folder/name`` (the shipped sample), and its bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    content = (ROOT / "data" / "sample_conversations.csv").read_bytes()
    path.write_bytes(content)
    return path, content


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("wa-toolkit: error: "), stderr
    return lines[0]


@pytest.fixture
def silent_server():
    """A server that accepts connections and never answers: every request stalls."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    connected = threading.Event()
    running = threading.Event()
    running.set()

    def accept() -> None:
        while running.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)
            connected.set()

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    yield SimpleNamespace(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", connected=connected)
    running.clear()
    thread.join()
    listener.close()
    for connection in held:
        connection.close()


# -- streams -------------------------------------------------------------------------------


def test_stderr_closed_before_the_start_with_progress(make_sandbox, tmp_path):
    sandbox = make_sandbox(briq_conversations=400, max_page_size=50)
    out = tmp_path / "rep.csv"
    # As `wa-toolkit ... 2>&-`: the command starts with no stderr at all.
    process = start(["sh", "-c", 'exec "$@" 2>&-', "sh",
                     *command("export", "--provider", "briq", "--progress", "--out", str(out))],
                    environment(sandbox.base_url, sandbox))
    code, stdout, _ = finish(process)
    assert code == 0, stdout
    assert len(tk.read_csv(out)) == 400
    assert f"wrote {out}" in stdout


def test_stderr_closed_in_the_middle_with_progress(make_sandbox, tmp_path):
    # Enough pages, each slow enough, that the bar is still drawn after the reader left.
    sandbox = make_sandbox(briq_conversations=1500, max_page_size=30, latency=0.02)
    out = tmp_path / "rep.csv"
    # As `wa-toolkit ... --progress 2>&1 | head -c 300`: the reader of stderr leaves early.
    process = start(command("export", "--provider", "briq", "--progress", "--out", str(out)),
                    environment(sandbox.base_url, sandbox))
    first = process.stderr.read(120)
    assert first, "no progress was drawn"
    process.stderr.close()
    code, stdout, _ = finish(process)
    assert code == 0, stdout
    assert len(tk.read_csv(out)) == 1500


@pytest.mark.parametrize("args", [
    pytest.param(["export", "--out", "{out}/conversations.csv"], id="export"),
    pytest.param(["report", "--out", "{out}"], id="report"),
    pytest.param(["snapshot", "--root", "{out}/history"], id="snapshot"),
])
def test_stdout_closed_before_the_summary_keeps_the_files_and_succeeds(sandbox, tmp_path, args):
    """As `wa-toolkit ... | head -c 10` whose reader left before the summary was printed."""
    out = tmp_path / "out"
    out.mkdir()
    process = start(command(*(arg.format(out=out) for arg in args)), environment(sandbox.base_url, sandbox))
    process.stdout.close()
    code, _, stderr = finish(process)
    assert code == 0, stderr
    assert "Broken pipe" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr
    if args[0] == "snapshot":
        frame = tk.load_snapshots(out / "history")
    else:
        frame = tk.read_csv(out / "conversations.csv")
    expected = sandbox.config.wassist_conversations + sandbox.config.briq_conversations
    assert len(frame) == expected
    if args[0] == "report":
        assert (out / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_stdout_closed_before_the_start(sandbox, tmp_path):
    out = tmp_path / "rep.csv"
    # As `wa-toolkit ... >&-`: the command starts with no stdout at all.
    process = start(["sh", "-c", 'exec "$@" >&-', "sh",
                     *command("export", "--provider", "briq", "--out", str(out))],
                    environment(sandbox.base_url, sandbox))
    code, _, stderr = finish(process)
    assert code == 0, stderr
    assert stderr == ""
    assert len(tk.read_csv(out)) == sandbox.config.briq_conversations


# -- signals -------------------------------------------------------------------------------


def assert_ended_by_the_signal(process, code: int, message: str, path: Path, before: bytes) -> None:
    """Within 15 s (far below the 30 s request timeout), the signal's exit code and one line;
    the previous file untouched and nothing left beside it."""
    exit_code, _, stderr = finish(process, timeout=15)
    assert exit_code == code, stderr
    assert stderr.strip().splitlines()[-1] == f"wa-toolkit: {message}"
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


@pytest.mark.parametrize("signum, code, message", SIGNALS)
def test_a_signal_during_a_stalled_pull_ends_it_at_once(silent_server, tmp_path, signum, code, message):
    """Ctrl-C, cron's or a container's SIGTERM, a closed terminal: while requests hang."""
    path, before = previous_file(tmp_path / "out")
    process = start(command("export", "--provider", "briq", "--out", str(path)),
                    environment(silent_server.base_url))
    assert silent_server.connected.wait(60), "the pull never started"
    process.send_signal(signum)
    # Far below the 30 s request timeout: the command must not wait for the stalled request.
    assert_ended_by_the_signal(process, code, message, path, before)


@pytest.mark.parametrize("signum, code, message", SIGNALS)
def test_a_signal_while_the_file_is_written_leaves_no_partial_file(sandbox, tmp_path, signum, code, message):
    path, before = previous_file(tmp_path / "out")
    writing = tmp_path / "writing"
    process = start(command("export", "--provider", "briq", "--out", str(path), slow_disk=str(writing)),
                    environment(sandbox.base_url, sandbox))
    wait_for(writing.exists, "the CSV being written")
    process.send_signal(signum)
    assert_ended_by_the_signal(process, code, message, path, before)


def test_an_interrupted_write_in_python_leaves_the_previous_file(tmp_path, monkeypatch):
    path, before = previous_file(tmp_path)
    df = tk.read_csv(path)

    def interrupted(self, handle, **kwargs):
        handle.write("conversation_id,provider\r\nhalf")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tk.to_csv(df, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


def test_a_stalled_server_ends_at_the_deadline_and_keeps_the_previous_file(silent_server, tmp_path):
    path, before = previous_file(tmp_path / "out")
    process = start(command("export", "--provider", "briq", "--deadline", "2", "--out", str(path)),
                    environment(silent_server.base_url))
    code, _, stderr = finish(process, timeout=60)
    assert code == 1, stderr
    assert "deadline of 2 s" in one_error_line(stderr)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


# -- disks and folders ---------------------------------------------------------------------


@pytest.mark.parametrize("args, written", [
    pytest.param(["export", "--out", "{out}/conversations.csv"], "conversations.csv", id="export-csv"),
    pytest.param(["report", "--out", "{out}"], "conversations.csv", id="report"),
    pytest.param(["snapshot", "--root", "{out}"], None, id="snapshot-parquet"),
])
def test_a_full_disk_is_one_clear_line_and_the_previous_file_stays(sandbox, tmp_path, args, written):
    out = tmp_path / "out"
    path, before = previous_file(out)
    # Writes beyond 4 KiB fail with EFBIG, as writes to a full disk fail with ENOSPC.
    process = start(command(*(arg.format(out=out) for arg in args), file_size_limit=4096),
                    environment(sandbox.base_url, sandbox))
    code, _, stderr = finish(process)
    assert code == 1, stderr
    line = one_error_line(stderr)
    assert "File too large" in line and "full" in line
    assert str(out / written) in line if written else str(out) in line
    assert path.read_bytes() == before
    assert not list(out.rglob(".*"))
    if args[0] == "snapshot":
        assert tk.snapshot_files(out) == []


def test_a_full_disk_in_python_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    path, before = previous_file(tmp_path)
    df = tk.read_csv(path)

    def disk_full(self, handle, **kwargs):
        handle.write("conversation_id,provider\r\n" * 2000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OSError) as raised:
        tk.to_csv(df, path)
    assert raised.value.errno == errno.ENOSPC
    assert str(path) in str(raised.value) and "No space left on device" in str(raised.value)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


def test_a_file_size_limit_in_python_names_the_file_and_keeps_the_previous_one(tmp_path):
    path, before = previous_file(tmp_path)
    script = ("import resource, sys, toolkit as tk\n"
              "df = tk.read_csv(sys.argv[1])\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))\n"
              "try:\n"
              "    tk.to_csv(df, sys.argv[1])\n"
              "except OSError as exc:\n"
              "    print(exc.errno, exc, sep='\\n')\n")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    number, message = result.stdout.splitlines()
    assert int(number) == errno.EFBIG
    assert str(path) in message
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("layout", ["folder-is-a-file", "file-is-a-folder"])
def test_an_output_that_cannot_be_written_is_one_clear_line(sandbox, tmp_path, layout):
    if layout == "folder-is-a-file":
        blocker = tmp_path / "reports"
        blocker.write_text("not a folder")
        out = blocker / "conversations.csv"
    else:
        out = tmp_path / "conversations.csv"
        out.mkdir()
        (out / "kept.txt").write_text("kept")
    process = start(command("export", "--provider", "briq", "--out", str(out)),
                    environment(sandbox.base_url, sandbox))
    code, _, stderr = finish(process)
    assert code != 0
    line = one_error_line(stderr)
    assert str(out) in line and ".tmp" not in line
    assert ("not a folder" in line) if layout == "folder-is-a-file" else ("folder" in line)
    assert sorted(p.name for p in tmp_path.rglob("*")) == (
        ["reports"] if layout == "folder-is-a-file" else ["conversations.csv", "kept.txt"])


@pytest.mark.parametrize("layout", ["folder-is-a-file", "file-is-a-folder", "no-such-folder"])
def test_an_output_that_cannot_be_written_in_python_is_a_clear_oserror(tmp_path, layout):
    df = tk.read_csv(ROOT / "data" / "sample_conversations.csv")
    if layout == "folder-is-a-file":
        (tmp_path / "reports").write_text("not a folder")
        out, number = tmp_path / "reports" / "conversations.csv", errno.ENOTDIR
    elif layout == "no-such-folder":
        # As pandas' writers: a mistyped folder is refused, not made.
        out, number = tmp_path / "typo" / "deeper" / "conversations.csv", errno.ENOENT
        for write in (tk.to_excel, tk.write_report):
            with pytest.raises(OSError, match="does not exist"):
                write(df, out.with_suffix(".xlsx" if write is tk.to_excel else ".html"))
    else:
        out, number = tmp_path / "conversations.csv", errno.EISDIR
        out.mkdir()
    with pytest.raises(OSError) as raised:
        tk.to_csv(df, out)
    assert raised.value.errno == number
    assert str(out) in str(raised.value) and ".tmp" not in str(raised.value)
    assert not (tmp_path / "typo").exists()


# -- progress on a display that fails (Python API) -------------------------------------------


class BrokenAfter:
    """A stderr whose reader leaves after ``allowed`` writes, as `python x.py 2>&1 | head` does."""

    def __init__(self, allowed: int) -> None:
        read_end, write_end = os.pipe()
        self.stream = os.fdopen(write_end, "w", buffering=1)
        self.reader = os.fdopen(read_end, "r")
        self.allowed = allowed

    def write(self, text: str) -> int:
        if self.allowed <= 0 and not self.reader.closed:
            self.reader.close()  # from now on every write is a real EPIPE
        self.allowed -= 1
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("allowed", [0, 3], ids=["broken-from-the-start", "broken-midway"])
def test_progress_on_a_broken_stderr_never_stops_a_python_pull(make_sandbox, monkeypatch, allowed):
    sandbox = make_sandbox(briq_conversations=900, max_page_size=30)
    broken = BrokenAfter(allowed)
    monkeypatch.setattr(sys, "stderr", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=True)
    assert len(df) == 900
    assert len([w for w in caught if "progress" in str(w.message)]) <= 1


@pytest.mark.parametrize(("answer", "attempts"),
                         [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, FAST_RETRY.max_attempts)])
def test_a_name_that_does_not_exist_is_reported_at_once_and_a_resolver_hiccup_is_retried(
        monkeypatch, answer, attempts):
    # The resolver's two answers, as getaddrinfo gives them: "no such name" does not pass
    # with waiting; "try again" may.
    resolve = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "api.example.invalid":
            raise socket.gaierror(answer, "the resolver's answer")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(tk.ApiError) as raised:
        tk.load_briq("some-key", "https://api.example.invalid", progress=False, retry=FAST_RETRY)
    assert raised.value.attempts == attempts
    assert "some-key" not in str(raised.value)
    if answer == socket.EAI_NONAME:
        assert "does not exist" in str(raised.value) and "check the base URL" in str(raised.value)


def test_a_refused_connection_is_reported_as_refused_not_as_a_timeout():
    with socket.socket() as probe:  # a port nobody listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(tk.ApiError) as raised:
            tk.load_briq("some-key", f"http://127.0.0.1:{port}", progress=False, retry=FAST_RETRY)
    message = str(raised.value)
    assert "refused the connection" in message and "timed out" not in message
    assert "check the base URL's host and port" in message
    assert "some-key" not in message
    # Nothing ever answered there: told after a few attempts, not after the whole retry budget.
    assert raised.value.attempts == 3 < FAST_RETRY.max_attempts


def test_a_server_that_answered_once_is_waited_for_when_it_refuses(make_sandbox):
    from toolkit._http import HttpClient

    sandbox = make_sandbox(seed=5)
    client = HttpClient("briq", sandbox.base_url, sandbox.config.briq_key, retry=FAST_RETRY)
    client.get_json("/v1/whatsapp/conversations", {"limit": 1, "offset": 0})
    sandbox.stop()  # a restart: its connections refused for a while
    client.close()  # (its kept-alive connection would still be served by the old handler)
    with pytest.raises(tk.ApiError) as raised:
        client.get_json("/v1/whatsapp/conversations", {"limit": 1, "offset": 0})
    assert raised.value.attempts == FAST_RETRY.max_attempts
