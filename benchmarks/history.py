"""A year of daily snapshots of 50k conversations: size on disk, and pruned queries.

Run from the project root, after installing the project (see README, "Benchmarks")::

    .venv/bin/python benchmarks/history.py            # writes benchmarks/HISTORY.md
    .venv/bin/python benchmarks/history.py --days 30  # a smaller history, printed only

The snapshots start from one pull of the sandbox (both providers, real parsers) and move
day by day: times advance, a tenth of the threads change their unread state, a few new
threads arrive. They are written with ``tk.save_snapshot``, exactly as a daily
``wa-toolkit snapshot`` would, into a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import best_of, machine, markdown  # noqa: E402

import toolkit as tk  # noqa: E402
from toolkit.sandbox import make_conversations  # noqa: E402
from toolkit.sandbox._history import snapshot_frame  # noqa: E402


def base_pull(conversations: int, moment: datetime) -> pd.DataFrame:
    """One pull of ``conversations`` threads (half per provider), through the real parsers."""
    threads = {"wassist": make_conversations("wassist", conversations // 2, 3, moment),
               "briq": make_conversations("briq", conversations - conversations // 2, 3, moment)}
    return snapshot_frame(threads, moment)


def day_of(base: pd.DataFrame, day: int, rng: np.random.Generator) -> pd.DataFrame:
    """The pull ``day`` days after ``base``: times moved on, some unread states changed."""
    frame = base.copy()
    shift = pd.Timedelta(days=day)
    for column in ("last_message_at", "window_expires_at", "fetched_at"):
        frame[column] = frame[column] + shift
    flip = rng.random(len(frame)) < 0.1
    unread = frame["has_unread"].fillna(False).to_numpy(bool) ^ flip
    frame["has_unread"] = pd.array(unread, dtype="boolean")
    counts = frame["unread_count"].copy()
    counts[flip & unread & (frame["provider"] == "briq").to_numpy()] = 1
    counts[~unread & (frame["provider"] == "briq").to_numpy()] = 0
    frame["unread_count"] = counts
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=None,
                        help="results file "
                             "(default: benchmarks/HISTORY.md for the full year, else print only)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    last_day = datetime(2026, 11, 20, 9, tzinfo=UTC)
    first_day = last_day - timedelta(days=args.days - 1)
    base = base_pull(args.conversations, first_day)
    rng = np.random.default_rng(5)
    folder = Path(tempfile.mkdtemp(prefix="wa-history-bench-"))
    try:
        write_seconds = 0.0
        for day in range(args.days):
            frame = day_of(base, day, rng)
            moment = pd.Timestamp(first_day) + pd.Timedelta(days=day)
            tick = time.perf_counter()
            tk.save_snapshot(frame, folder, snapshot_at=moment)
            write_seconds += time.perf_counter() - tick
        files = tk.snapshot_files(folder)
        size = sum(path.stat().st_size for path in files)
        rows = args.days * args.conversations
        since = (pd.Timestamp(last_day) - pd.Timedelta(days=29)).strftime("%Y-%m-%d")
        month_sql = f"""
            SELECT date, provider, count(*) FILTER (WHERE has_unread) AS unread
            FROM snapshots WHERE date >= DATE '{since}' AND provider = 'briq'
            GROUP BY ALL ORDER BY ALL"""
        year_sql = """
            SELECT date, provider, count(*) FILTER (WHERE has_unread) AS unread
            FROM snapshots GROUP BY ALL ORDER BY ALL"""

        def month_pandas() -> pd.DataFrame:
            history = tk.load_snapshots(folder, since=since, providers=["briq"])
            return history.groupby([history["snapshot_at"].dt.floor("D"), "provider"], observed=True)[
                "has_unread"].sum()

        def year_pandas() -> pd.DataFrame:
            history = tk.load_snapshots(folder)
            return history.groupby([history["snapshot_at"].dt.floor("D"), "provider"], observed=True)[
                "has_unread"].sum()

        duck_month, duck_month_result = best_of(3, lambda: tk.query_snapshots(month_sql, folder))
        pandas_month, pandas_month_result = best_of(3, month_pandas)
        duck_year, _ = best_of(2, lambda: tk.query_snapshots(year_sql, folder))
        pandas_year, _ = best_of(1, year_pandas)
        if duck_month_result["unread"].tolist() != pandas_month_result.astype(int).tolist():
            raise RuntimeError("DuckDB and pandas disagree on the unread backlog")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - started
    table = pd.DataFrame([
        {"what": "snapshots written", "value": f"{len(files):,} files ({args.days} days x 2 providers), "
                                               f"{rows:,} rows"},
        {"what": "time to write them",
         "value": f"{write_seconds:.1f} s ({write_seconds / args.days * 1000:.0f} ms per daily snapshot)"},
        {"what": "size on disk", "value": f"{size / 2**20:,.0f} MiB ({size / rows:.1f} bytes per row, "
                                           f"{size / args.days / 2**20:.1f} MiB per day)"},
        {"what": "last 30 days of Briq, unread per day: DuckDB", "value": f"{duck_month * 1000:.0f} ms"},
        {"what": "the same in pandas (tk.load_snapshots + groupby)",
         "value": f"{pandas_month * 1000:.0f} ms"},
        {"what": "the whole year, both providers: DuckDB", "value": f"{duck_year * 1000:.0f} ms"},
        {"what": "the whole year in pandas", "value": f"{pandas_year * 1000:.0f} ms"},
        {"what": "pruning: whole year / last 30 days (DuckDB)", "value": f"{duck_year / duck_month:.1f}x"},
        {"what": "pruning: whole year / last 30 days (pandas)",
         "value": f"{pandas_year / pandas_month:.1f}x"},
    ])
    text = markdown(table)
    print(text)
    full_year = args.days == 365 and args.conversations == 50_000
    out = args.out or (ROOT / "benchmarks" / "HISTORY.md" if full_year else None)
    if out is not None:
        out.write_text("\n".join([
            "# History benchmark", "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python benchmarks/history.py` "
            f"({seconds / 60:.1f} minutes in all).", "", f"Machine: {machine()}.", "",
            f"A year of daily snapshots of {args.conversations:,} conversations (half per provider), written "
            "with `tk.save_snapshot` into `provider=.../date=.../` folders; queries through "
            "`tk.query_snapshots` (DuckDB) and `tk.load_snapshots` (pyarrow, then pandas). Best of three "
            "runs for the pruned "
            "queries, two (DuckDB) and one (pandas) for the whole year. Both engines are checked to give the "
            "same numbers.", "", text, ""]), encoding="utf-8")
        print(f"wrote {out}")
    print(f"took {seconds / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
