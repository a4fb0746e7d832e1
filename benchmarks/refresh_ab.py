"""Two checkouts' refreshes compared in pairs: is a change to the refresh faster?

Run from the project root, with a second checkout (``git worktree add /tmp/before HEAD~1``)::

    .venv/bin/python benchmarks/refresh_ab.py /tmp/before . --rounds 60

Each checkout runs in a process of its own, with its own sandbox (the inbox of
``benchmarks/refresh.py``: 100,000 conversations, 5% unread, 1% changed). Round after
round, in an order drawn at random, each process refreshes the same previous frame once;
between refreshes it either pulls in full (every tenth round, as the benchmark does) or
writes and frees 160 MB, so that each refresh meets memory the way it does after a full
pull, at a tenth of the time. Every refresh is checked against the latest full pull.

On this shared 2-core machine two runs of the same code differ by up to 20 ms in their
medians over 14 rounds; the paired difference over 60 rounds (the median of B's refresh
less A's, round by round) is the number to read, with the share of rounds B won.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path


def worker(tree: Path, provider: str, latency: float) -> None:
    """One checkout's side: answers ``full`` or ``quick`` lines with ``refresh_ms full_ms``."""
    sys.path.insert(0, str(tree / "benchmarks"))
    sys.path.insert(0, str(tree))
    import numpy as np
    import pandas as pd
    import refresh as bench  # the checkout's own benchmark module

    import toolkit as tk

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=bench.serve, args=(child, provider, 100_000, latency, 7),
                                     daemon=True)
    server.start()
    base_url = parent.recv()
    options = {provider: {**bench.settings(provider, base_url), "progress": False}}
    previous = tk.load_conversations(options)
    parent.send(("churn", int(100_000 * bench.CHANGED_SHARE)))
    parent.recv()
    full = tk.load_conversations(options)
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command not in ("full", "quick"):
            break
        full_ms = 0.0
        if command == "full":
            started = time.perf_counter()
            full = tk.load_conversations(options)
            full_ms = (time.perf_counter() - started) * 1000
        else:
            memory = np.ones(20_000_000)
            del memory
            time.sleep(0.3)
        started = time.perf_counter()
        refreshed = tk.refresh(previous, {provider: bench.settings(provider, base_url)}, progress=False)
        refresh_ms = (time.perf_counter() - started) * 1000
        pd.testing.assert_frame_equal(refreshed[bench.MOMENT_FREE], full[bench.MOMENT_FREE])
        print(f"{refresh_ms:.2f} {full_ms:.2f}", flush=True)
    parent.send(("stop", None))
    parent.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="checkout A")
    parser.add_argument("after", type=Path, help="checkout B")
    parser.add_argument("--provider", choices=["wassist", "briq"], default="briq")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every response")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.provider, args.latency)
        return
    trees = [args.before.resolve(), args.after.resolve()]
    processes = [subprocess.Popen([sys.executable, __file__, str(trees[0]), str(trees[1]), "--worker",
                                   str(tree), "--provider", args.provider, "--latency", str(args.latency)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for tree in trees]
    for process in processes:
        if process.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
            raise SystemExit("a checkout's worker failed to start")
    times: list[list[float]] = [[], []]
    fulls: list[float] = []
    for round_number in range(args.rounds):
        command = "full" if round_number % 10 == 0 else "quick"
        for side in random.sample([0, 1], 2):
            process = processes[side]
            process.stdin.write(command + "\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
            refresh_ms, full_ms = map(float, process.stdout.readline().split())  # type: ignore[union-attr]
            times[side].append(refresh_ms)
            if full_ms:
                fulls.append(full_ms)
    for process in processes:
        process.stdin.write("stop\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        process.wait(60)
    differences = [after - before for before, after in zip(times[0], times[1], strict=True)]
    for name, tree, measured in (("A", trees[0], times[0]), ("B", trees[1], times[1])):
        print(f"{name} {tree}: refresh median {statistics.median(measured):.1f} ms, "
              f"best {min(measured):.1f} ms")
    faster = sum(difference < 0 for difference in differences) / len(differences)
    print(f"B - A, round by round: median {statistics.median(differences):+.1f} ms; B faster in "
          f"{faster:.0%} of {args.rounds} rounds (full pulls: median {statistics.median(fulls):.0f} ms)")


if __name__ == "__main__":
    main()
