"""Measure the toolkit against the floor and against what users would write instead.

Run from the project root, after installing the project (see README, "Benchmarks")::

    .venv/bin/python benchmarks/run.py            # full run, writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/run.py --quick    # smaller sizes, a smoke run of every section

Every comparison is a ratio of two numbers measured in the same run on the same machine,
so a busy machine slows both sides. The sandbox runs in its own process (as a real server
would), so its work does not compete with the client's for one interpreter lock.

Sections: load (latency floor, naive loop), rate limit (budget use, 429s), normalise
(1M records, each encoding, against ``json.loads`` and ``json_normalize``), memory (bytes
per row, peak of a 100k pull), metrics (every contract metric on 1M rows against reading
them from CSV).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import requests
import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from naive import naive_normalise, naive_pull  # noqa: E402

import toolkit as tk  # noqa: E402
from toolkit import RateLimit  # noqa: E402
from toolkit._http import HttpClient  # noqa: E402
from toolkit.providers import briq, wassist  # noqa: E402
from toolkit.providers._provider import DEFAULT_MAX_WORKERS  # noqa: E402
from toolkit.sandbox import BRIQ_PATH, SandboxConfig  # noqa: E402
from toolkit.sandbox._data import make_conversations  # noqa: E402
from toolkit.sandbox._render import briq_item, wassist_item  # noqa: E402

KEYS = {"wassist": SandboxConfig.wassist_key, "briq": SandboxConfig.briq_key}
PAGE_SIZE = 100


def markdown(table: pd.DataFrame) -> str:
    """A pipe table (``DataFrame.to_markdown`` would need one more package)."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(f"{value:,}" if isinstance(value, int) and not isinstance(value, bool)
                              else str(value) for value in row) + " |"
            for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


# -- running things --------------------------------------------------------------------------


@contextmanager
def sandbox_process(*, briq: int = 1, wassist: int = 1, latency: float = 0.0,
                    rate_limit: tuple[int, float] | None = None, encoding: str = "live") -> Iterator[str]:
    """``wa-toolkit sandbox`` in a child process; yields its base URL."""
    command = [sys.executable, "-m", "toolkit", "sandbox", "--port", "0", "--briq-conversations", str(briq),
               "--wassist-conversations", str(wassist), "--latency", str(latency),
               "--wassist-encoding", encoding]
    if rate_limit:
        command += ["--rate-limit", f"{rate_limit[0]}/{rate_limit[1]}"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = child.stdout.readline() if child.stdout else ""
        found = re.search(r"http://[\d.]+:\d+", line)
        if not found:
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        yield found.group(0)
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``action`` took (garbage collected before, so earlier runs do not bill it)."""
    gc.collect()
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def best_of(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``runs`` timings: the least disturbed by other work on the machine."""
    best, result = math.inf, None
    for _ in range(runs):
        seconds, result = timed(action)
        best = min(best, seconds)
    return best, result


@dataclass
class Target:
    """One target of the issue, with what was measured."""

    name: str
    goal: str
    measured: str
    met: bool


@dataclass
class Results:
    sections: list[tuple[str, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def add(self, title: str, table: pd.DataFrame | str, note: str = "") -> None:
        text = table if isinstance(table, str) else markdown(table)
        block = text + (f"\n\n{note}" if note else "")
        self.sections.append((title, block))
        print(f"\n## {title}\n\n{block}\n", flush=True)

    def target(self, name: str, goal: str, measured: str, met: bool) -> None:
        self.targets.append(Target(name, goal, measured, met))
        print(f"target: {name}: {measured} ({'met' if met else 'NOT met'}; goal {goal})", flush=True)


# -- sections --------------------------------------------------------------------------------


class InFlight:
    """Requests in flight over time, recorded around :meth:`HttpClient.get_json` while installed."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self._original = HttpClient.get_json

    def __enter__(self) -> InFlight:
        original, spans = self._original, self.spans

        def recorded(client: HttpClient, *args: Any, **kwargs: Any) -> Any:
            started = time.time()
            try:
                return original(client, *args, **kwargs)
            finally:
                spans.append((started, time.time()))

        HttpClient.get_json = recorded  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: Any) -> None:
        HttpClient.get_json = self._original  # type: ignore[method-assign]

    def average(self, start: float, end: float) -> float:
        """Requests in flight on average between ``start`` and ``end`` (wall-clock seconds)."""
        busy = sum(max(0.0, min(stop, end) - max(begin, start)) for begin, stop in self.spans)
        return busy / (end - start)


def main_pass_in_flight(recorder: InFlight, frame: pd.DataFrame) -> float:
    """Average requests in flight during the pull's main pass (its first pass over the list)."""
    main = frame.attrs["pull"]["passes"]["conversations"]
    start = pd.Timestamp(main["started_at"]).timestamp()
    end = pd.Timestamp(main["finished_at"]).timestamp()
    return recorder.average(start, end)


def load_section(results: Results, sizes: list[int], latencies: list[float]) -> None:
    """Whole pulls of Briq through a latency-injecting sandbox: naive loop, one worker, defaults."""
    rows = []
    for size in sizes:
        for latency in latencies:
            with sandbox_process(briq=size, latency=latency) as base_url:
                key = KEYS["briq"]
                naive_seconds, (naive_frame, naive_requests) = timed(
                    partial(naive_pull, "briq", base_url, key))
                one_seconds, one = timed(partial(tk.load_briq, key, base_url, max_workers=1, progress=False))
                # The two numbers a ratio is taken of run back to back, best of two each.
                bare_seconds, _ = best_of(2, partial(bare_concurrent_gets, base_url, key, size))
                recorder = InFlight()
                with recorder:
                    default_seconds, default = best_of(
                        2, partial(tk.load_briq, key, base_url, progress=False))
                in_flight = main_pass_in_flight(recorder, default)
            for frame in (naive_frame, one, default):
                if frame["conversation_id"].nunique() != size:
                    raise RuntimeError(f"a pull of {size} returned {frame['conversation_id'].nunique()} rows")
            needed = math.ceil(size / PAGE_SIZE)
            floor = math.ceil(needed / DEFAULT_MAX_WORKERS) * latency
            passes = default.attrs["pull"]["passes"]
            rows.append({
                "conversations": size, "latency ms": int(latency * 1000), "requests needed": needed,
                "floor s": round(floor, 2),
                "naive s": round(naive_seconds, 2),
                "workers=1 s": round(one_seconds, 2),
                "default s": round(default_seconds, 2),
                "default requests": default.attrs["pull"]["requests"],
                "sweep requests": sum(report["pages"] for name, report in passes.items() if "sweep" in name),
                "in flight (main pass)": f"{in_flight:.1f} of {DEFAULT_MAX_WORKERS} "
                                         f"({in_flight / DEFAULT_MAX_WORKERS:.0%})",
                "most possible in flight": f"{_most_in_flight(passes['conversations']['pages']):.0%}",
                "bare GETs s": round(bare_seconds, 2),
                "default / bare GETs": round(default_seconds / bare_seconds, 2),
                "default / floor": round(default_seconds / floor, 2),
                "naive / default": round(naive_seconds / default_seconds, 1),
                "naive / bare GETs": round(naive_seconds / bare_seconds, 1),
                "naive / workers=1": round(naive_seconds / one_seconds, 2),
                "_in_flight": in_flight / DEFAULT_MAX_WORKERS,
            })
    table = pd.DataFrame(rows)
    shown = table.drop(columns=["_in_flight"])
    results.add("Load: whole pulls against the test bed's own limit", shown, textwrap.dedent(f"""\
        Briq sandbox in its own process, every response delayed by the latency. "bare GETs" is the
        test bed's own limit: {DEFAULT_MAX_WORKERS} threads on one urllib3 pool sending exactly the
        needed requests (`ceil(conversations / {PAGE_SIZE})`) from a queue, reading the bodies and
        nothing else (no JSON, no checks, no sweep). "default" is `tk.load_briq` with its defaults
        ({DEFAULT_MAX_WORKERS} workers), everything included: overlap between pages, the continuity
        proof, parsing, the sweep. Both are the best of two runs, taken back to back. The floor is
        `ceil(requests needed / {DEFAULT_MAX_WORKERS}) * latency`: the sandbox and the client share
        this machine's two cores, so even the bare GETs stay above it. "naive" is
        `benchmarks/naive.py`: one `requests.Session`, one page at a time, then `pd.json_normalize`
        and dtype fixes (one run). "in flight" is the average number of requests between sending and
        the end of their body during the main pass (from its first request to its last page), over
        `max_workers`; "most possible" is what the main pass's page count allows when every
        request takes as long (its last round leaves workers idle). Every pull is checked to
        return every conversation once."""))
    for latency_ms, limit in ((100, 1.1), (20, 1.3)):
        cell = table[(table["conversations"] == table["conversations"].max())
                     & (table["latency ms"] == latency_ms)]
        if len(cell):
            ratio = float(cell["default / bare GETs"].iloc[0])
            results.target(f"{cell['conversations'].iloc[0]:,} rows at {latency_ms} ms within {limit}x of "
                           "bare concurrent GETs", f"<= {limit}x", f"{ratio:.2f}x", ratio <= limit)
    largest = table[table["conversations"] == table["conversations"].max()]
    lowest = float(largest["_in_flight"].min())
    results.target(f"requests in flight during the main pass, {largest['conversations'].iloc[0]:,} rows",
                   ">= 95% of max_workers", f"{lowest:.1%} (lowest latency cell)", lowest >= 0.95)
    sweeps = int(table["sweep requests"].max())
    results.target("a sweep costs one round trip when nothing moved", "1 request",
                   f"{sweeps} (most in a cell)", sweeps <= 1)
    biggest = table[table["conversations"] == table["conversations"].max()]
    for _, row in biggest.iterrows():
        gain, bare_gain = row["naive / default"], row["naive / bare GETs"]
        measured = f"{gain:.1f}x"
        if gain < 10:
            measured += f"; the bare GETs themselves reach {bare_gain:.1f}x"
        results.target(f"{row['conversations']:,} rows at {row['latency ms']} ms at least 10x faster than "
                       "the naive loop", ">= 10x (or the bare GETs cannot)", measured,
                       gain >= 10 or bare_gain < 10)


def _most_in_flight(pages: int) -> float:
    """The highest average share of the workers busy that ``pages`` equal requests allow: the
    last round cannot fill every worker."""
    return pages / (math.ceil(pages / DEFAULT_MAX_WORKERS) * DEFAULT_MAX_WORKERS)


def bare_concurrent_gets(base_url: str, api_key: str, size: int) -> int:
    """The needed page requests on one urllib3 pool, ``DEFAULT_MAX_WORKERS`` in flight, bodies read."""
    from concurrent.futures import ThreadPoolExecutor

    pool = urllib3.PoolManager(maxsize=DEFAULT_MAX_WORKERS, retries=False)
    headers = {"X-API-Key": api_key}

    def get(offset: int) -> int:
        response = pool.request("GET", f"{base_url}{BRIQ_PATH}?limit={PAGE_SIZE}&offset={offset}",
                                headers=headers, timeout=30.0)
        if response.status != 200:
            raise RuntimeError(f"bare GET answered {response.status}")
        return len(response.data)

    # map() hands each thread the next offset as soon as it is free: a queue, not waves.
    with ThreadPoolExecutor(DEFAULT_MAX_WORKERS) as threads:
        received = sum(threads.map(get, range(0, size, PAGE_SIZE)))
    pool.clear()
    return received


class _RecordingSession(requests.Session):
    """A session that notes when each request left, for the rate-limit section."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: list[float] = []

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent_at.append(time.monotonic())
        return super().request(*args, **kwargs)


def rate_limit_section(results: Results, conversations: int, budget: tuple[int, float]) -> None:
    """A Wassist pull through a sandbox that answers 429 past a request budget."""
    allowed, window = budget
    session = _RecordingSession()
    with sandbox_process(wassist=conversations, rate_limit=budget, latency=0.02) as base_url:
        seconds, frame = timed(partial(tk.load_wassist, KEYS["wassist"], base_url, progress=False,
                                       session=session, rate_limit=RateLimit(allowed, window)))
    pull = frame.attrs["pull"]
    too_many = pull["statuses"].get("429", 0)
    sent = sorted(session.sent_at)
    # A budget of N per window frees N slots one window after they were taken, so request
    # k*N can leave k windows after the first at the earliest. How close the loader comes
    # is the share of the budget it uses (the last, partial window is left out: its
    # length is set by latency and workers, not by the budget).
    windows = (len(sent) - 1) // allowed
    if windows < 1:
        raise RuntimeError("the rate-limit pull needs more requests than one window allows")
    took = sent[windows * allowed] - sent[0]
    share = windows * window / took
    busiest = max(sum(1 for other in sent if moment <= other < moment + window) for moment in sent)
    table = pd.DataFrame([{
        "budget": f"{allowed} per {window:g} s", "requests": len(sent), "429s": too_many,
        "pull s": round(seconds, 2), f"request 1 to {windows * allowed + 1} s": round(took, 2),
        "shortest the budget allows s": round(windows * window, 2), "share of budget": f"{share:.1%}",
        "busiest window": busiest,
    }])
    results.add("Rate limit: a request budget used without a 429", table, textwrap.dedent(f"""\
        Wassist documents 100 requests per minute per key; here the sandbox enforces {allowed} per
        {window:g} s (the same shape, faster, to keep the run short) and the loader is given the same
        budget. {conversations:,} conversations, all four passes (all, its sweep, unread, its sweep).
        Under a budget of {allowed} per {window:g} s, request number `k * {allowed} + 1` cannot leave
        sooner than `k * {window:g} s` after the first; the share of the budget used is that shortest
        time over the time the loader took. "busiest window" is the most requests that left within
        any {window:g} s."""))
    results.target("share of the request budget used", ">= 95%", f"{share:.1%}", share >= 0.95)
    results.target("429s drawn under the budget", "0", str(too_many), too_many == 0)


def raw_records(provider: str, encoding: str, count: int) -> bytes:
    """``count`` distinct sandbox records of one provider and encoding as one JSON array."""
    now = datetime.now(UTC)
    base = make_conversations(provider, min(count, 100_000), 11, now)
    render = (lambda c: briq_item(c, now)) if provider == "briq" else (
        lambda c: wassist_item(c, now, documented=encoding == "documented"))
    items = [render(conversation) for conversation in base]
    records = []
    for copy in range(math.ceil(count / len(items))):
        records.extend({**item, "id": f"{item['id']}-{copy}"} for item in items)
    return json.dumps(records[:count]).encode()


def normalise_section(results: Results, count: int) -> pd.DataFrame:
    """1M raw records to the unified frame: the toolkit, ``json_normalize``, and the parse itself."""
    rows = []
    kept: pd.DataFrame | None = None
    for provider, encoding in (("wassist", "live"), ("wassist", "documented"), ("briq", "as documented")):
        payload = raw_records(provider, encoding, count)
        parser = wassist.parse_conversations if provider == "wassist" else briq.parse_conversations
        fetched_at = pd.Timestamp.now(tz="UTC")
        loads_seconds, records = best_of(2, partial(json.loads, payload))
        ours_seconds, frame = best_of(2, partial(parser, records, fetched_at))
        naive_seconds, naive_frame = best_of(2, partial(naive_normalise, provider, records, fetched_at))
        if len(frame) != count or len(naive_frame) != count:
            raise RuntimeError("a normaliser lost rows")
        rows.append({
            "records": f"{provider} ({encoding})", "rows": count, "MB": round(len(payload) / 1e6),
            "json.loads s": round(loads_seconds, 2), "toolkit s": round(ours_seconds, 2),
            "json_normalize + dtypes s": round(naive_seconds, 2),
            "toolkit / json.loads": round(ours_seconds / loads_seconds, 2),
            "json_normalize / toolkit": round(naive_seconds / ours_seconds, 2),
            "from bytes: both / json.loads": f"{(loads_seconds + ours_seconds) / loads_seconds:.2f} vs "
                                             f"{(loads_seconds + naive_seconds) / loads_seconds:.2f}",
        })
        kept = frame if provider == "briq" else kept
        records = payload = naive_frame = None  # free the memory before the next encoding
        gc.collect()
    table = pd.DataFrame(rows)
    results.add("Normalise: raw records to the unified frame", table, textwrap.dedent("""\
        Both sides start from the decoded records (the list `json.loads` returns, which is what a
        loader holds after each response) and end with the unified columns in their dtypes. The
        `json.loads` column is the time to decode the same payload: the floor the issue sets. Best of
        two runs each. The last column counts
        the decoding too (bytes to frame, toolkit vs baseline, each over `json.loads` alone): both
        pay the same decode, so the end-to-end gain is smaller than the normalisation gain."""))
    worst = table["toolkit / json.loads"].max()
    results.target("normalise within 1.5x of json.loads", "<= 1.5x", f"{worst:.2f}x (worst encoding)",
                   worst <= 1.5)
    gain = table["json_normalize / toolkit"].min()
    results.target("normalise at least 3x faster than json_normalize + dtypes", ">= 3x",
                   f"{gain:.2f}x (worst encoding)", gain >= 3)
    return kept


def memory_section(results: Results, frame: pd.DataFrame, pull_size: int) -> None:
    """Bytes per row of the unified frame, and the peak memory of a whole pull."""
    per_column = frame.memory_usage(deep=True, index=False) / len(frame)
    per_row = float(per_column.sum())
    # What the contract's dtypes cannot go below: an Arrow string column holds its text, an
    # 8-byte offset and a validity bit per row; the other columns are fixed-width.
    text = {name: float(pc.sum(pc.binary_length(pa.array(frame[name]))).as_py() or 0) / len(frame)
            for name in frame.columns if isinstance(frame[name].dtype, pd.StringDtype)}
    floor = {name: text[name] + 8 + 1 / 8 if name in text else float(value)
             for name, value in per_column.items()}
    # The most compact dtype pandas counts as a string dtype: Arrow text with 4-byte offsets
    # (pd.ArrowDtype(pa.string())); dictionaries and categoricals are not string dtypes.
    compact = {name: text[name] + 4 + 1 / 8 if name in text else float(value)
               for name, value in per_column.items()}
    peak = _peak_of_pull(pull_size)
    table = pd.DataFrame([{"column": name, "bytes per row": round(value, 1),
                           "text + offset floor": round(floor[name], 1),
                           "floor of any string dtype": round(compact[name], 1)}
                          for name, value in per_column.items()]
                         + [{"column": "all", "bytes per row": round(per_row, 1),
                             "text + offset floor": round(sum(floor.values()), 1),
                             "floor of any string dtype": round(sum(compact.values()), 1)}])
    pull_table = pd.DataFrame([{"pull": f"Briq, {pull_size:,} conversations", **peak}])
    results.add("Memory: the unified frame and a whole pull",
                markdown(table) + "\n\n" + markdown(pull_table),
                textwrap.dedent(f"""\
        Bytes per row from `memory_usage(deep=True)` of the {len(frame):,}-row Briq frame of the
        normalise section, `channel_name` included (Wassist rows have the same columns and dtypes).
        "text + offset floor" is the least the frame's dtypes allow: pandas' `str` dtype stores
        each value's UTF-8 text plus an 8-byte offset and a validity bit per row. "floor of any
        string dtype" is the least the contract allows at all: it requires a pandas string dtype
        for the five text columns (`is_string_dtype`, not object), and the most compact one,
        `pd.ArrowDtype(pa.string())`, still stores the text and a 4-byte offset per row
        (a dictionary or categorical column is not a string dtype).
        Peak memory of a pull is the maximum resident set of a fresh process that imports the
        toolkit and pulls {pull_size:,} conversations from the sandbox (which runs in another
        process), next to the same process that only imports."""))
    results.target("unified frame bytes per row at 1M rows, channel_name included", "<= 150",
                   f"{per_row:.0f} (the dtypes' own floor for this data: {sum(floor.values()):.0f}; "
                   f"with any string dtype the contract allows: {sum(compact.values()):.0f})",
                   per_row <= 150)


# VmHWM is the peak resident set of this program only; ru_maxrss would also count the
# memory of the (large) benchmark process this one was forked from.
_PEAK_SCRIPT = """
import re, sys, toolkit as tk
if sys.argv[1] != "-":
    df = tk.load_briq(sys.argv[2], sys.argv[1], progress=False)
    assert len(df) == int(sys.argv[3]), len(df)
status = open("/proc/self/status").read()
print(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
"""


def _peak_of_pull(size: int) -> dict[str, Any]:
    with sandbox_process(briq=size) as base_url:
        def peak_kib(*args: str) -> int:
            out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, *args], capture_output=True, text=True,
                                 check=True, cwd=ROOT)
            return int(out.stdout.strip().splitlines()[-1])
        idle = peak_kib("-", "-", "0")
        pulling = peak_kib(base_url, KEYS["briq"], str(size))
    return {"peak MiB (import only)": round(idle / 1024), "peak MiB (pull)": round(pulling / 1024),
            "pull adds MiB": round((pulling - idle) / 1024),
            "pull adds bytes per row": round((pulling - idle) * 1024 / size)}


# A pull in a fresh process: CPU seconds of this process (the sandbox runs in another) per request.
#: Fresh processes per tree in the client section, taking turns.
CPU_ROUNDS = 4

_CPU_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
import toolkit as tk
imported = time.perf_counter() - started
tk.load_briq(sys.argv[3], sys.argv[2], progress=False)  # warm: connections, lazy imports, caches
best = None
for _ in range(3):
    cpu = time.process_time()
    frame = tk.load_briq(sys.argv[3], sys.argv[2], progress=False)
    spent = time.process_time() - cpu
    best = spent if best is None else min(best, spent)
print(imported, best, frame.attrs["pull"]["requests"], len(frame))
"""

# Where a page's client CPU goes, each part alone: the GET on a bare http.client connection, decoding the
# body as the toolkit does (orjson), and the toolkit's conversion of the rows (in batches of
# 100 pages, as a pull does).
_PARTS_SCRIPT = """
import sys, time
import http.client, urllib.parse
import pandas as pd
from toolkit._http import _loads
from toolkit.providers.briq import parse_conversations
from toolkit.sandbox import BRIQ_PATH
server, pages = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[3])
connection = http.client.HTTPConnection(server.hostname, server.port)

def get(path):
    connection.request("GET", path, headers={"X-API-Key": sys.argv[2]})
    return connection.getresponse().read()

cpu = time.process_time()
bodies = [get(f"{BRIQ_PATH}?limit=100&offset={k * 100}") for k in range(pages)]
get = (time.process_time() - cpu) / pages
cpu = time.process_time()
decoded = [_loads(body) for body in bodies]
loads = (time.process_time() - cpu) / pages
rows = [item for body in decoded for item in body["data"]["items"]]
cpu = time.process_time()
for start in range(0, len(rows), 10_000):
    parse_conversations(rows[start:start + 10_000], pd.Timestamp.now(tz="UTC"))
parse = (time.process_time() - cpu) / pages
print(get, loads, parse)
"""


def client_cost(tree: Path, base_url: str) -> tuple[float, int, int]:
    """CPU seconds of a whole pull, its requests and its rows, for the code in ``tree``."""
    out = subprocess.run([sys.executable, "-c", _CPU_SCRIPT, str(tree), base_url, KEYS["briq"]],
                         capture_output=True, text=True, check=True, cwd=tree)
    _, spent, requests_sent, rows = out.stdout.split()
    return float(spent), int(requests_sent), int(rows)


def import_seconds(tree: Path, runs: int = 5) -> float:
    """The fastest ``import toolkit`` of ``runs`` fresh processes (interpreter start not counted)."""
    script = ("import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); import toolkit; "
              "print(time.perf_counter() - t)")
    return min(float(subprocess.run([sys.executable, "-c", script, str(tree)], capture_output=True, text=True,
                                    check=True, cwd=tree).stdout) for _ in range(runs))


def client_section(results: Results, size: int, baseline: Path | None) -> None:
    """Client CPU per request and import time, against a baseline checkout of the code when given."""
    trees = {"this tree": ROOT, **({f"baseline ({baseline})": baseline} if baseline else {})}
    rows = []
    with sandbox_process(briq=size) as base_url:
        # The trees take turns, a fresh process each, so that a change in the machine's speed
        # during the section (shared hosts drift by tens of percent) reaches both alike.
        measured: dict[str, list[tuple[float, int, int]]] = {label: [] for label in trees}
        for _ in range(CPU_ROUNDS):
            for label, tree in trees.items():
                measured[label].append(client_cost(tree, base_url))
        for label, tree in trees.items():
            spent, requests_sent, pulled = min(measured[label])
            data_pages = math.ceil(pulled / PAGE_SIZE)
            rows.append({"code": label, "requests per pull": requests_sent,
                         "client CPU s per pull": round(spent, 3),
                         "CPU ms per page of data": round(spent / data_pages * 1000, 2),
                         "CPU ms per request": round(spent / requests_sent * 1000, 2),
                         "import toolkit ms": round(import_seconds(tree) * 1000)})
        parts = subprocess.run([sys.executable, "-c", _PARTS_SCRIPT, base_url, KEYS["briq"],
                                str(math.ceil(size / PAGE_SIZE))], capture_output=True, text=True,
                               check=True, cwd=ROOT).stdout.split()
    table = pd.DataFrame(rows)
    get_ms, loads_ms, parse_ms = (round(float(value) * 1000, 2) for value in parts)
    breakdown = pd.DataFrame([{"part, per page (this tree)": "GET on a bare http.client connection",
                               "CPU ms": get_ms},
                              {"part, per page (this tree)": "decoding the body (orjson)",
                               "CPU ms": loads_ms},
                              {"part, per page (this tree)": "conversion to the unified frame",
                               "CPU ms": parse_ms},
                              {"part, per page (this tree)": "sum of the three", "CPU ms":
                               round(get_ms + loads_ms + parse_ms, 2)}])
    results.add("Client: CPU per page and import time", markdown(table) + "\n\n" + markdown(breakdown),
                textwrap.dedent(f"""\
        A whole pull of {size:,} Briq conversations from the sandbox (in its own process, no
        latency): the process CPU time of the pull (request threads, parsing, paging, proof,
        sweep, merge), the best of {CPU_ROUNDS * 3} pulls ({CPU_ROUNDS} fresh processes taking turns with
        the baseline's, three pulls each after a warm-up), over the pages of data
        (`ceil(rows / {PAGE_SIZE})`, the same for both) and over the requests sent. The import time
        is the fastest `import toolkit` of five fresh processes. The baseline is a checkout of the
        code before this work (`--baseline DIR`), measured by the same script in the same run. The
        second table measures the three parts a page cannot avoid, each alone, single-threaded."""))
    ours = rows[0]
    results.target("import toolkit", "<= 300 ms", f"{ours['import toolkit ms']} ms",
                   ours["import toolkit ms"] <= 300)
    if len(rows) > 1:
        ratio = rows[1]["CPU ms per page of data"] / ours["CPU ms per page of data"]
        results.target("client CPU per page halved", ">= 2x less than the baseline",
                       f"{ours['CPU ms per page of data']} vs {rows[1]['CPU ms per page of data']} ms "
                       f"({ratio:.2f}x less; unavoidable parts alone: {get_ms + loads_ms + parse_ms:.2f} ms)",
                       ratio >= 2)


def metrics_section(results: Results, frame: pd.DataFrame) -> None:
    """Every contract metric on 1M rows, against reading those rows from the CSV."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "conversations.csv"
        tk.to_csv(frame, path)
        read_seconds, _ = best_of(2, lambda: tk.read_csv(path))
        plain_seconds, _ = best_of(2, lambda: pd.read_csv(path))
    as_of = frame["fetched_at"].max()
    metrics = {
        "window_remaining": lambda: tk.window_remaining(frame, as_of),
        "window_bucket": lambda: tk.window_bucket(frame, as_of),
        "unread_summary": lambda: tk.unread_summary(frame, by="channel_id"),
        "expiry_summary": lambda: tk.expiry_summary(frame, by="channel_id", as_of=as_of),
        "at_risk": lambda: tk.at_risk(frame, within="2h", as_of=as_of),
        "expiry_timeline": lambda: tk.expiry_timeline(frame, as_of=as_of),
    }
    rows = []
    for name, metric in metrics.items():
        seconds, _ = best_of(2, metric)
        rows.append({"metric": name, "seconds": round(seconds, 3)})
    total = sum(row["seconds"] for row in rows)
    rows.append({"metric": "all together", "seconds": round(total, 3)})
    rows.append({"metric": "tk.read_csv of the same rows", "seconds": round(read_seconds, 3)})
    rows.append({"metric": "pd.read_csv of the same rows (untyped)", "seconds": round(plain_seconds, 3)})
    results.add(f"Metrics: every contract metric on {len(frame):,} rows", pd.DataFrame(rows),
                textwrap.dedent("""\
        Grouped by channel (the finest grouping a user asks for), as of the snapshot's time. Best of
        two runs each."""))
    results.target("all metrics on 1M rows faster than loading them from CSV", "< 1x of tk.read_csv",
                   f"{total / read_seconds:.2f}x of tk.read_csv ({total:.2f} s vs {read_seconds:.2f} s)",
                   total < read_seconds)


# -- the report --------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import numpy
    import pyarrow
    return (f"{platform.system()} {platform.release()}, {model}, {os.cpu_count()} logical CPUs{memory}; "
            f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {numpy.__version__}, "
            f"pyarrow {pyarrow.__version__}, requests {requests.__version__}")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (other work competes for the cores)."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def write_report(results: Results, path: Path, command: str, seconds: float, load_at_start: str) -> None:
    targets = pd.DataFrame([{"target": t.name, "goal": t.goal, "measured": t.measured,
                             "met": "yes" if t.met else "**no**"} for t in results.targets])
    parts = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` "
        f"({seconds / 60:.1f} minutes in all).",
        "",
        f"Machine: {machine()}.",
        "",
        f"Load average (1, 5, 15 min) at the start: {load_at_start}; at the end: {load_average()}.",
        "",
        "Every ratio compares two numbers measured in the same run. Regenerate this file with the "
        "command above.",
        "",
        "## Targets",
        "",
        markdown(targets),
    ]
    for title, block in results.sections:
        parts += ["", f"## {title}", "", block]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: checks every section runs (a minute)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the results "
                             "(default: benchmarks/RESULTS.md; --quick prints only)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of earlier code to compare client CPU and import time with "
                             "(e.g. made with `git archive COMMIT | tar -x -C DIR`)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_at_start = load_average()
    results = Results()
    if args.quick:
        load_section(results, [2_000], [0.02])
        client_section(results, 5_000, args.baseline)
        rate_limit_section(results, 6_000, (25, 1.0))
        frame = normalise_section(results, 50_000)
        memory_section(results, frame, 5_000)
        metrics_section(results, frame)
    else:
        load_section(results, [10_000, 100_000], [0.02, 0.1])
        client_section(results, 20_000, args.baseline)
        rate_limit_section(results, 20_000, (100, 4.0))
        frame = normalise_section(results, 1_000_000)
        memory_section(results, frame, 100_000)
        metrics_section(results, frame)
    seconds = time.perf_counter() - started
    out = args.out or (None if args.quick else ROOT / "benchmarks" / "RESULTS.md")
    if out is not None:
        command = "python benchmarks/run.py" + (" --quick" if args.quick else "") + (
            f" --baseline {args.baseline}" if args.baseline else "")
        write_report(results, out, command, seconds, load_at_start)
        print(f"\nwrote {out}")
    print(f"benchmarks took {seconds / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
