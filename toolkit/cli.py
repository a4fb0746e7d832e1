"""``wa-toolkit``: demo, export, report, snapshot and sandbox from the command line.

Errors end in one line on stderr (never a traceback, never a key) and a non-zero exit:
2 for a bad argument, 1 for a refused or failed pull.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from ._errors import ToolkitError
from ._redact import redact

EXIT_FAILED = 1
EXIT_USAGE = 2

_DESCRIPTION = """\
Pull WhatsApp conversations from Wassist and Briq into one table, and report the unread
backlog and the 24-hour reply windows about to close.

Keys come from WASSIST_API_KEY and BRIQ_API_KEY (servers from WASSIST_BASE_URL and
BRIQ_BASE_URL). No keys? Try `wa-toolkit demo`: it runs everything against a built-in
sandbox on this machine.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="wa-toolkit", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="run everything on the built-in sandbox (no keys, no network)",
        description="Start the built-in sandbox of both providers on 127.0.0.1, pull every conversation "
                    "through the real loaders, and write conversations.csv and report.html into --out.")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="folder to write into (default: demo-out)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the synthetic data (default: 7)")
    demo.add_argument("--fault-rate", type=float, default=0.0,
                      help="share of sandbox responses that fail, to watch retries work (default: 0)")
    _progress_flags(demo)

    export = commands.add_parser(
        "export", help="pull live conversations into a CSV file",
        description="Pull conversations from the live APIs (keys from the environment) into a "
                    "spreadsheet-safe CSV file.")
    _pull_flags(export)
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")

    report = commands.add_parser(
        "report", help="pull live conversations and write the HTML report",
        description="Pull conversations from the live APIs and write report.html and conversations.csv into --out.")
    _pull_flags(report)
    report.add_argument("--out", type=Path, default=Path("report-out"), help="folder to write into")
    report.add_argument("--within", default="2h", help="horizon of the at-risk list (default: 2h)")
    report.add_argument("--history", type=Path, default=None,
                        help="snapshot folder (see `snapshot`): adds a section on how the backlog moved")

    snapshot = commands.add_parser(
        "snapshot", help="pull live conversations and keep them as a dated snapshot (for cron)",
        description="Pull conversations from the live APIs and save them under --root as Parquet, one file per "
                    "provider in ROOT/provider=NAME/date=YYYY-MM-DD/. Run it on a schedule to build a history; "
                    "read it back with tk.load_snapshots or any Parquet reader.")
    _pull_flags(snapshot)
    snapshot.add_argument("--root", type=Path, required=True, help="the history folder")

    history = commands.add_parser(
        "sample-history", help="write a simulated multi-day history of the sandbox (no keys)",
        description="Simulate a backlog that evolves over --days days (busier weekdays, one channel slipping "
                    "in the last third) and save a daily snapshot of it under --root, for trying trends.")
    history.add_argument("--root", type=Path, required=True, help="the history folder to write")
    history.add_argument("--days", type=int, default=28, help="days of history (default: 28)")
    history.add_argument("--seed", type=int, default=7)

    sample = commands.add_parser(
        "sample", help="regenerate the offline sample CSV from the seeded sandbox",
        description="Pull the seeded sandbox and write it as CSV (by default data/sample_conversations.csv), "
                    "for notebooks and users who want data without any server.")
    sample.add_argument("--out", type=Path, default=Path("data/sample_conversations.csv"))
    sample.add_argument("--seed", type=int, default=7)

    sandbox = commands.add_parser(
        "sandbox", help="serve the sandbox APIs for notebooks and manual tries",
        description="Serve both providers' list endpoints on 127.0.0.1 until interrupted (Ctrl-C).")
    sandbox.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765; 0 = any free)")
    sandbox.add_argument("--seed", type=int, default=7)
    sandbox.add_argument("--wassist-conversations", type=int, default=1200)
    sandbox.add_argument("--briq-conversations", type=int, default=1500)
    sandbox.add_argument("--wassist-encoding", choices=["live", "documented"], default="live")
    sandbox.add_argument("--briq-envelope", choices=["enveloped", "bare"], default="enveloped")
    sandbox.add_argument("--latency", type=float, default=0.0, help="seconds added to each response")
    sandbox.add_argument("--fault-rate", type=float, default=0.0, help="share of responses that fail")
    sandbox.add_argument("--churn-rate", type=float, default=0.0, help="live-traffic events per request")
    sandbox.add_argument("--max-page-size", type=int, default=None, help="serve at most this many rows per page")
    sandbox.add_argument("--rate-limit", type=_request_budget, default=None, metavar="REQUESTS/SECONDS",
                         help="answer 429 beyond this many requests per key in any window, e.g. 100/60")
    return parser


def _request_budget(text: str) -> tuple[int, float]:
    """``"100/60"`` as ``(100, 60.0)``: requests allowed per window of seconds."""
    try:
        requests_text, seconds_text = text.split("/")
        budget = (int(requests_text), float(seconds_text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected REQUESTS/SECONDS such as 100/60, got {text!r}") from None
    if budget[0] < 1 or not budget[1] > 0:
        raise argparse.ArgumentTypeError(f"both parts must be positive, got {text!r}")
    return budget


def _progress_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")


def _pull_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", choices=["wassist", "briq", "all"], default="all",
                        help="which provider to pull (default: all whose key is set)")
    wassist = parser.add_argument_group("Wassist filters")
    wassist.add_argument("--agent", help="agent id")
    wassist.add_argument("--contact", help="contact filter")
    wassist.add_argument("--has-unread", choices=["true", "false"], help="only threads with (or without) unread")
    wassist.add_argument("--after", help="last message after this ISO date-time")
    wassist.add_argument("--before", help="last message before this ISO date-time")
    wassist.add_argument("--wassist-status", choices=["active", "closed"])
    briq = parser.add_argument_group("Briq filters")
    briq.add_argument("--sender-id", help="sender id")
    briq.add_argument("--recipient", help="exact recipient number")
    briq.add_argument("--briq-status", choices=["all", "open", "unread"], default="all")
    briq.add_argument("--search", help="search text (at most 64 characters)")
    _progress_flags(parser)


def _provider_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    import os

    from .providers import SPECS

    wassist = {"agent": args.agent, "contact": args.contact,
               "has_unread": None if args.has_unread is None else args.has_unread == "true",
               "last_message_after": args.after, "last_message_before": args.before,
               "status": args.wassist_status, "progress": args.progress}
    briq = {"sender_id": args.sender_id, "recipient": args.recipient, "status": args.briq_status,
            "search": args.search, "progress": args.progress}
    options = {"wassist": {k: v for k, v in wassist.items() if v is not None},
               "briq": {k: v for k, v in briq.items() if v is not None}}
    if args.provider != "all":
        return {args.provider: options[args.provider]}
    chosen = {name: options[name] for name, spec in SPECS.items() if os.environ.get(spec.env_key, "").strip()}
    if not chosen:
        raise ToolkitError("no API key: set WASSIST_API_KEY and/or BRIQ_API_KEY (or try `wa-toolkit demo`)")
    return chosen


def _summary(df: Any) -> str:
    import pandas as pd

    from . import metrics
    from .report import headline

    numbers = headline(df)
    per_provider = metrics.unread_summary(df)
    lines = [f"{numbers['conversations']:,} conversations, {numbers['unread_conversations']:,} unread"]
    for provider, row in per_provider.iterrows():
        messages = "" if pd.isna(row["unread_messages"]) else f", {row['unread_messages']} unread messages"
        lines.append(f"  {provider}: {row['conversations']:,} conversations, "
                     f"{row['unread_conversations']:,} unread ({row['unread_share']:.0%}){messages}")
    lines.append(f"{numbers['open_windows']:,} reply windows open; {numbers['closing_within_1h']:,} close within 1 h")
    lines.append(f"{numbers['at_risk']:,} unread conversations lose their window within 2 h; "
                 f"{numbers['needs_template']:,} already need a template")
    return "\n".join(lines)


def pull_sandbox(seed: int = 7, fault_rate: float = 0.0, progress: bool | None = None) -> Any:
    """Every conversation of a fresh seeded sandbox, pulled through the real loaders."""
    from .providers import load_conversations
    from .sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(seed=seed, fault_rate=fault_rate)
    with Sandbox(config) as sandbox:
        return load_conversations({
            # The sandbox keeps no request budget, so the client needs none either.
            "wassist": {"api_key": config.wassist_key, "base_url": sandbox.base_url, "progress": progress,
                        "rate_limit": None},
            "briq": {"api_key": config.briq_key, "base_url": sandbox.base_url, "progress": progress},
        })


def run_demo(out: Path, seed: int = 7, fault_rate: float = 0.0, progress: bool | None = None) -> tuple[Path, Path]:
    """Pull the sandbox through the real loaders and write the CSV and the report.

    Also writes a simulated four-week history under ``out/history`` (once) for the
    report's trends section.

    Returns
    -------
    (csv_path, report_path)
    """
    from . import export, report

    from .history import load_snapshots
    from .sandbox import HistoryConfig, write_history

    combined = pull_sandbox(seed, fault_rate, progress)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = export.to_csv(combined, out / "conversations.csv")
    # Four weeks of simulated daily snapshots, so the report shows trends as well.
    history_root = out / "history"
    if not history_root.exists():
        write_history(history_root, HistoryConfig(seed=seed))
    report_path = report.write_report(combined, out / "report.html", source="built-in sandbox",
                                      title="WhatsApp backlog report (sandbox demo)",
                                      history=load_snapshots(history_root))
    print(_summary(combined))
    return csv_path, report_path


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        csv_path, report_path = run_demo(args.out, args.seed, args.fault_rate, args.progress)
        print(f"wrote {csv_path}\nwrote {report_path}")
        return 0
    if args.command in ("export", "report"):
        from . import export
        from .providers import load_conversations

        df = load_conversations(_provider_options(args))
        if args.command == "export":
            path = export.to_csv(df, args.out)
            print(_summary(df))
            print(f"wrote {path}")
            return 0
        from .report import write_report

        from .history import load_snapshots

        history = load_snapshots(args.history) if args.history is not None else None
        args.out.mkdir(parents=True, exist_ok=True)
        csv_path = export.to_csv(df, args.out / "conversations.csv")
        report_path = write_report(df, args.out / "report.html", within=args.within, history=history)
        print(_summary(df))
        print(f"wrote {csv_path}\nwrote {report_path}")
        return 0
    if args.command == "sample":
        from . import export

        path = export.to_csv(pull_sandbox(args.seed, progress=False), args.out)
        print(f"wrote {path}")
        return 0
    if args.command == "snapshot":
        from .history import save_snapshot
        from .providers import load_conversations

        options = _provider_options(args)
        df = load_conversations(options)
        files = save_snapshot(df, args.root, providers=list(options))
        print(_summary(df))
        print("\n".join(f"wrote {path}" for path in files))
        return 0
    if args.command == "sample-history":
        from .sandbox import HistoryConfig, write_history

        if args.days < 1:
            raise ValueError("--days must be at least 1")
        files = write_history(args.root, HistoryConfig(days=args.days, seed=args.seed))
        print(f"wrote {len(files)} snapshot files under {args.root}")
        return 0
    if args.command == "sandbox":
        return _serve_sandbox(args)
    raise AssertionError(args.command)


def _serve_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(seed=args.seed, wassist_conversations=args.wassist_conversations,
                           briq_conversations=args.briq_conversations, wassist_encoding=args.wassist_encoding,
                           briq_envelope=args.briq_envelope, latency=args.latency, fault_rate=args.fault_rate,
                           churn_rate=args.churn_rate, max_page_size=args.max_page_size,
                           rate_limit=args.rate_limit)
    sandbox = Sandbox(config, port=args.port).start()
    print(f"sandbox serving Wassist and Briq at {sandbox.base_url} (Ctrl-C to stop)")
    print("point the loaders at it with:")
    for name, value in sandbox.environment().items():
        print(f"  export {name}={value}")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wa-toolkit`` and ``python -m toolkit``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ValueError as exc:
        print(f"wa-toolkit: error: {redact(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except ToolkitError as exc:
        print(f"wa-toolkit: error: {redact(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"wa-toolkit: error: {redact(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("wa-toolkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
