"""``wa-toolkit``: demo, export, report, snapshot and sandbox from the command line.

Errors end in one line on stderr (never a traceback, never a key) and a non-zero exit:
2 for a bad argument, 1 for a refused or failed pull.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._deadline import DEFAULT_DEADLINE
from ._errors import ToolkitError
from ._limits import AT_RISK_WITHIN, SANDBOX_DAYS
from ._process import exit_code, forgiving_streams, stop_on_signals
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


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (the usage stays with ``--help``),
    and a mistyped option is named as such, with the option meant."""

    _arguments_given: list[str] = []

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        self._arguments_given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        mistyped = self.unknown_options(self._arguments_given)
        required = message.removeprefix("the following arguments are required: ")
        options_missing = required != message and all(name.strip().startswith("-")
                                                      for name in required.split(","))
        if mistyped and options_missing:
            # argparse checks the required options first: `--outt x.csv` would be told that
            # --out is missing, not that --outt is not an option.
            message = self.unrecognized(mistyped)
        message += self.command_meant(message)
        self.exit(EXIT_USAGE, f"wa-toolkit: error: {message} (see `{self.prog} --help`)\n")

    def unknown_options(self, arguments: Sequence[str]) -> list[str]:
        """The arguments that look like options of this command and are none of them."""
        known = [name for name in self._option_string_actions if name.startswith("--")]
        unknown = []
        for argument in arguments:
            name = argument.split("=", 1)[0]
            if not name.startswith("-") or name == "-" or name == "--" or name[1:2].isdigit():
                continue
            if name in self._option_string_actions:
                continue
            if name.startswith("--") and self.allow_abbrev and any(option.startswith(name)
                                                                   for option in known):
                continue  # an abbreviation argparse takes
            unknown.append(argument)
        return unknown

    def command_meant(self, message: str) -> str:
        """"; did you mean report?" for argparse's message on a mistyped command, else ""."""
        chosen = re.match(r"argument COMMAND: invalid choice: '(.*)' \(choose from", message)
        commands = next((action.choices for action in self._actions
                         if isinstance(action, argparse._SubParsersAction)), None)
        if chosen is None or not commands:
            return ""
        close = difflib.get_close_matches(chosen.group(1).lower(), list(commands), n=1, cutoff=0.6)
        return f"; did you mean {close[0]}?" if close else ""

    def unrecognized(self, arguments: Sequence[str]) -> str:
        """argparse's message for ``arguments``, with the option each one probably meant."""
        # Compared without their dashes, which would make any two options look alike.
        options = {name[2:]: name for name in self._option_string_actions if name.startswith("--")}
        meant = []
        for argument in arguments:
            name = argument.split("=", 1)[0].lstrip("-")
            close = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
            if close and options[close[0]] not in meant:
                meant.append(options[close[0]])
        hint = f"; did you mean {' or '.join(meant)}?" if meant else ""
        return f"unrecognized arguments: {' '.join(arguments)}{hint}"


class UsageError(ValueError):
    """A command line that cannot run as given; exit code 2, before any request."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="wa-toolkit", description=_DESCRIPTION, epilog=_EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"wa-toolkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="run everything on the built-in sandbox (no keys, no network)",
        description="Start the built-in sandbox of both providers on 127.0.0.1, pull every conversation "
                    "through the real loaders, and write into --out: conversations.csv, conversations.xlsx, "
                    "report.html, and history/, a simulated four-week history of daily snapshots ending in "
                    "this pull, which the report charts as trends (replaced on every run). The folder --out "
                    "is created if missing; the folder above it must exist.")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), metavar="DIR",
                      help="folder to write into (default: demo-out)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the synthetic data (default: 7)")
    demo.add_argument("--fault-rate", type=_share, default=0.0, metavar="SHARE",
                      help="share of sandbox responses that fail (0 to 1), to watch retries work "
                           "(default: 0)")
    _zone_flag(demo)
    _names_flag(demo)
    _progress_flags(demo)
    demo.set_defaults(handler=_demo)

    export = commands.add_parser(
        "export", help="pull live conversations into a CSV file or an Excel workbook",
        description="Pull conversations from the live APIs (keys from the environment) into a "
                    "spreadsheet-safe CSV file (--out ending in .csv) or an Excel workbook (.xlsx: typed "
                    "cells, local times, an at-risk sheet). The folder of --out must exist.",
        epilog=_PULL_EPILOG)
    _pull_flags(export)
    export.add_argument("--out", type=Path, required=True, metavar="FILE",
                        help="file to write; its extension chooses the format: "
                             "conversations.csv or conversations.xlsx")
    _zone_flag(export)
    _names_flag(export)
    export.add_argument("--within", type=_duration, default=None, metavar="DURATION",
                        help="with an .xlsx --out, horizon of the workbook's at-risk sheet, e.g. 90min "
                             f"or 4h (default: {AT_RISK_WITHIN})")
    export.set_defaults(handler=_export)

    report = commands.add_parser(
        "report", help="pull live conversations and write the HTML report",
        description="Pull conversations from the live APIs and write report.html and conversations.csv into "
                    "--out (created if missing; the folder above it must exist). Or name the data file: "
                    "--out FOLDER/conversations.xlsx (or .csv) writes it in that format, with report.html "
                    "beside it (FOLDER made as --out is).",
        epilog=_PULL_EPILOG)
    _pull_flags(report)
    report.add_argument("--out", type=Path, default=Path("report-out"), metavar="DIR|FILE",
                        help="folder to write into (default: report-out), or the data file to write "
                             "(.csv or .xlsx) with report.html beside it")
    _zone_flag(report)
    _names_flag(report)
    report.add_argument("--within", type=_duration, default=AT_RISK_WITHIN, metavar="DURATION",
                        help=f"horizon of the at-risk list, e.g. 90min or 4h (default: {AT_RISK_WITHIN})")
    report.add_argument("--history", type=Path, default=None, metavar="DIR",
                        help="snapshot folder (see `wa-toolkit snapshot`): adds a section on how the "
                             "backlog moved")
    report.set_defaults(handler=_report)

    snapshot = commands.add_parser(
        "snapshot", help="pull live conversations and keep them as a dated snapshot (for cron)",
        description="Pull conversations from the live APIs and save them under --root as Parquet, one file "
                    "per provider in ROOT/provider=NAME/date=YYYY-MM-DD/. Run it on a schedule to build a "
                    "history; read it back with tk.load_snapshots or any Parquet reader.",
        epilog=_PULL_EPILOG)
    _pull_flags(snapshot)
    snapshot.add_argument("--root", type=Path, required=True, metavar="DIR",
                          help="the history folder (created if missing; the folder above it must exist)")
    _names_flag(snapshot)
    snapshot.add_argument(
        "--incremental", action="store_true",
        help="refresh the latest snapshot in --root instead of pulling everything: requests for what "
             "changed and for the unread list, not for the whole inbox (a full pull when there is none, it "
             "was taken with other filters, or the last full pull is older than --full-every)")
    snapshot.add_argument(
        "--full-every", type=_duration, default=None, metavar="DURATION",
        help="with --incremental, pull in full once the last full pull is this old (default: 24h)")

    snapshot.set_defaults(handler=_snapshot)

    watch = commands.add_parser(
        "watch", help="keep the at-risk list current in this terminal, refreshed incrementally",
        description="Pull once, then refresh incrementally every --every (at least; never more than half "
                    "of a provider's documented request budget) and show the headline numbers and the "
                    "conversations whose window closes soonest with unread messages, time left counting "
                    "down. Ctrl-C stops it (exit code 130, like every command).",
        epilog=_PULL_EPILOG)
    _pull_flags(watch)
    _names_flag(watch)
    _zone_flag(watch)
    watch.set_defaults(handler=_watch)
    watch.add_argument("--every", type=_interval, default="5m", metavar="DURATION",
                       help="pause between refreshes, e.g. 30s, 5m, 1h (default: 5m); lengthened where "
                            "needed to stay within half of a provider's documented request budget, so 0s "
                            "means as often as that allows (the sandbox keeps no budget)")
    watch.add_argument("--within", type=_duration, default=AT_RISK_WITHIN, metavar="DURATION",
                       help=f"horizon of the at-risk list, e.g. 90min or 4h (default: {AT_RISK_WITHIN})")
    watch.add_argument("--report", type=Path, default=None, metavar="FILE.html",
                       help="rewrite this HTML report (atomically) after every refresh")
    watch.add_argument("--sandbox", action="store_true",
                       help="watch the built-in sandbox (no keys): three simulated days of an inbox "
                            "like the demo's, Briq senders named, with live traffic between refreshes")
    watch.add_argument("--seed", type=int, default=None,
                       help="with --sandbox, seed of the sandbox data (default: 7)")
    watch.add_argument("--rounds", type=_count, default=None, metavar="N",
                       help="stop after N refreshes (the first pull counts as one); default: until Ctrl-C")

    history = commands.add_parser(
        "sample-history", help="write a simulated multi-day history of the sandbox (no keys)",
        description="Simulate the sandbox's inbox over --days days (busier weekdays, one channel "
                    "slipping in the last third; the demo's inbox, Briq senders named as the demo names "
                    "them) and save a daily snapshot of it under --root, for trying trends (report "
                    "--history, tk.load_snapshots). A simulated history already in --root is replaced; a "
                    "folder holding snapshots of live pulls is refused.")
    history.add_argument("--root", type=Path, required=True, metavar="DIR",
                         help="the history folder to write (created if missing)")
    history.add_argument("--days", type=_count, default=28, help="days of history, at least 1 (default: 28)")
    history.add_argument("--seed", type=int, default=7, help="seed of the simulation (default: 7)")
    history.set_defaults(handler=_sample_history)

    sample = commands.add_parser(
        "sample", help="regenerate the offline sample CSV from the seeded sandbox",
        description="Pull the seeded sandbox and write it as CSV (by default data/sample_conversations.csv), "
                    "for notebooks and users who want data without any server.")
    sample.add_argument("--out", type=Path, default=Path("data/sample_conversations.csv"), metavar="FILE",
                        help="CSV file to write; its folder must exist "
                             "(default: data/sample_conversations.csv)")
    sample.add_argument("--seed", type=int, default=7, help="seed of the synthetic data (default: 7)")
    sample.set_defaults(handler=_sample)

    sandbox = commands.add_parser(
        "sandbox", help="serve the sandbox APIs for notebooks and manual tries",
        description="Serve both providers' list endpoints on 127.0.0.1 until interrupted (Ctrl-C), and print "
                    "the environment variables that point the loaders and the other commands at it.")
    sandbox.add_argument("--port", type=_port, default=8765,
                         help="port to listen on (default: 8765; 0 = any free)")
    sandbox.add_argument("--seed", type=int, default=7, help="seed of the synthetic data (default: 7)")
    sandbox.add_argument("--wassist-conversations", type=_count, default=1200, metavar="N",
                         help="conversations Wassist holds at first (default: 1200); the simulated days "
                              "open 10 to 15%% more, --raw none")
    sandbox.add_argument("--briq-conversations", type=_count, default=1500, metavar="N",
                         help="conversations Briq holds at first (default: 1500); the simulated days "
                              "open 10 to 15%% more, --raw none")
    sandbox.add_argument("--wassist-encoding", choices=["live", "documented"], default="live",
                         help="Wassist values typed as live clients see them, or as strings as its OpenAPI "
                              "document types them (default: live)")
    sandbox.add_argument("--briq-envelope", choices=["enveloped", "bare"], default="enveloped",
                         help="Briq lists inside its {success, data} envelope, or as a bare list "
                              "(default: enveloped)")
    sandbox.add_argument("--latency", type=_seconds, default=0.0, metavar="SECONDS",
                         help="seconds added to each response (default: 0)")
    sandbox.add_argument("--fault-rate", type=_share, default=0.0, metavar="SHARE",
                         help="share of responses that fail (0 to 1): 429s, 5xx, resets, truncated bodies, "
                              "stalls (default: 0)")
    sandbox.add_argument("--churn-rate", type=_seconds, default=0.0, metavar="EVENTS",
                         help="live-traffic events (new messages, closings, new conversations) per list "
                              "request (default: 0, a still inbox)")
    sandbox.add_argument("--max-page-size", type=_count, default=None, metavar="N",
                         help="serve at most N rows per page whatever the client asks (default: no cap)")
    sandbox.add_argument("--raw", action="store_true",
                         help="serve the seeded conversations as generated (unread and closed windows "
                              "everywhere: for stress tests) instead of an inbox after "
                              f"{SANDBOX_DAYS} simulated days of customers and agents")
    sandbox.add_argument("--rate-limit", type=_request_budget, default=None, metavar="REQUESTS/SECONDS",
                         help="answer 429 beyond this many requests per key in any window, e.g. 100/60")
    sandbox.set_defaults(handler=_serve_sandbox)
    for name, command in commands.choices.items():
        # Examples first, each line as written; the rest of the help wrapped as usual.
        command.formatter_class = _ExamplesKept
        lines = "\n".join(f"  {example}" for example in EXAMPLES[name])
        command.epilog = f"examples:\n{lines}" + (f"\n\n{command.epilog}" if command.epilog else "")
    return parser


#: Each command's examples, as its --help shows them (the tests parse every one).
EXAMPLES = {
    "demo": ["wa-toolkit demo --out demo-out",
             "wa-toolkit demo --out demo-out --tz Africa/Nairobi --fault-rate 0.1"],
    "export": ["wa-toolkit export --out conversations.csv",
               "wa-toolkit export --provider briq --briq-status unread --out unread.csv",
               "wa-toolkit export --out backlog.xlsx --tz Africa/Dar_es_Salaam "
               "--channel-names data/briq_channel_names.csv"],
    "report": ["wa-toolkit report --out report-out",
               "wa-toolkit report --out report-out/backlog.xlsx --history /data/wa-history --within 4h"],
    "snapshot": ["wa-toolkit snapshot --root /data/wa-history",
                 "wa-toolkit snapshot --root /data/wa-history --incremental"],
    "watch": ["wa-toolkit watch --every 5m --within 2h",
              "wa-toolkit watch --sandbox --every 10s --report live.html"],
    "sample-history": ["wa-toolkit sample-history --root history",
                       "wa-toolkit report --history history --out report-out "
                       "--channel-names data/briq_channel_names.csv   # then, against the sandbox"],
    "sample": ["wa-toolkit sample",
               "wa-toolkit sample --seed 11 --out other_sample.csv"],
    "sandbox": ["wa-toolkit sandbox",
                "wa-toolkit sandbox --port 8765 --fault-rate 0.25 --latency 0.05"],
}


class _ExamplesKept(argparse.HelpFormatter):
    """argparse's help, but the examples an epilog starts with keep their lines as written (the
    paragraphs after them are wrapped as usual)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if not text.startswith("examples:"):
            return super()._fill_text(text, width, indent)
        examples, _, rest = text.partition("\n\n")
        kept = "".join(indent + line for line in examples.splitlines(keepends=True))
        return kept + ("\n\n" + super()._fill_text(rest, width, indent) if rest.strip() else "")


_EPILOG = """\
`wa-toolkit COMMAND --help` lists a command's options.

Errors are one line on stderr. Exit codes: 0 done, 1 a refused or failed pull, 2 a bad
argument (nothing is requested then), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM,
129 stopped by SIGHUP; a stopped command leaves no half-written file.
"""

_PULL_EPILOG = """\
Filters apply to one provider each: a Wassist filter with --provider briq (or without
WASSIST_API_KEY), or a Briq filter with --provider wassist (or without BRIQ_API_KEY), is
refused with exit code 2 before any request, and so is --after not earlier than --before.
Keys come from WASSIST_API_KEY and BRIQ_API_KEY, servers from WASSIST_BASE_URL and BRIQ_BASE_URL.
"""


def _checked_number(text: str, kind: type, what: str, accepted: Callable[[Any], bool], bounds: str) -> Any:
    """``text`` read as ``kind``; ``ArgumentTypeError`` naming ``what`` it should be, or its ``bounds``."""
    try:
        number = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not accepted(number):
        raise argparse.ArgumentTypeError(f"{bounds}, got {text!r}")
    return number


def _count(text: str) -> int:
    """A whole number of at least 1."""
    return int(_checked_number(text, int, "a whole number", lambda n: n >= 1, "must be at least 1"))


def _port(text: str) -> int:
    return int(_checked_number(text, int, "a port number", lambda n: 0 <= n <= 65535, "a port is 0 to 65535"))


def _seconds(text: str) -> float:
    """A number of at least zero."""
    return float(_checked_number(text, float, "a number", lambda n: 0 <= n < float("inf"),
                                 "must be zero or more"))


def _deadline(text: str) -> float | None:
    """Positive seconds, or ``none`` for no deadline."""
    if text.strip().lower() == "none":
        return None
    # One message for every number refused (a negative one too): more than zero, or none.
    return float(_checked_number(text, float, "a number of seconds or 'none'",
                                 lambda n: 0 < n < float("inf"), "a deadline is a positive, finite number of "
                                 "seconds or 'none'"))


def _share(text: str) -> float:
    """A share from 0 to 1."""
    number = _seconds(text)
    if number > 1:
        raise argparse.ArgumentTypeError(f"a share is from 0 to 1 (0.25 = a quarter), got {text!r}")
    return number


def _timedelta(text: str, examples: str) -> Any:
    """``text`` as a Timedelta; a bare number is refused, since pandas would read it as nanoseconds."""
    import pandas as pd

    from ._frames import unitless, units_spelled

    if unitless(text):
        raise argparse.ArgumentTypeError(f"a duration needs a unit, such as {examples}, got {text!r}")
    try:
        span = pd.Timedelta(units_spelled(text))
    except ValueError:
        span = pd.NaT
    if span is pd.NaT:
        raise argparse.ArgumentTypeError(f"expected a duration such as {examples}, got {text!r}")
    return span


def _duration(text: str) -> str:
    """A positive duration pandas can read (``2h``, ``90min``); kept as given for titles."""
    import pandas as pd

    if not _timedelta(text, "2h or 90min") > pd.Timedelta(0):
        raise argparse.ArgumentTypeError(f"must be longer than zero, got {text!r}")
    return text


def _server(base_url: str) -> str:
    """A server root as the screen shows it: without any user name or password it carries."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _moment(text: str) -> Any:
    """An ISO date or date-time as a UTC Timestamp (naive means UTC)."""
    from ._frames import utc_instant

    # The toolkit's one reader of moments, so that "now" is this moment and "today" is refused
    # here as in Python (pandas reads both as the machine's wall clock).
    try:
        return utc_instant(text, "the moment")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date or date-time such as 2026-09-01 or "
                                         f"2026-09-01T08:00+03:00, or now, got {text!r}") from None


def _text_of_length(low: int, high: int, what: str) -> Any:
    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        if not low <= len(text) <= high:
            raise argparse.ArgumentTypeError(f"{what} has {low} to {high} characters, got {len(text)}")
        return text

    return check


def _interval(text: str) -> Any:
    """A duration of zero or more (``30s``, ``5m``, ``1h``) as a Timedelta."""
    import pandas as pd

    span = _timedelta(text, "30s, 5m or 1h")
    if span < pd.Timedelta(0):
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return span


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
    group.add_argument("--progress", dest="progress", action="store_true", default=None,
                       help="always show progress bars (default: only on a terminal)")
    group.add_argument("--no-progress", dest="progress", action="store_false",
                       help="never show progress bars")


def _zone(text: str) -> str:
    """An IANA time zone name, checked (``Africa/Dar_es_Salaam``)."""
    from ._tz import resolve_tz

    try:
        return resolve_tz(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("tz: ")) from None


def _names_file(text: str) -> dict[str, str]:
    """A channel-names CSV file, read at once: a bad file stops the command before any pull."""
    from .channels import read_channel_names

    try:
        return read_channel_names(text)
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"{text}: no such file") from None
    except (ValueError, OSError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _zone_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tz", type=_zone, default=None, metavar="ZONE",
                        help="IANA time zone the outputs show times in, e.g. Africa/Dar_es_Salaam "
                             "(default: the WA_TOOLKIT_TZ environment variable, else UTC); data stays UTC")


def _names_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel-names", type=_names_file, default=None, metavar="FILE.csv",
                        help="CSV file with columns channel_id,channel_name naming the channels (e.g. Briq "
                             "senders, which the API sends as ids only); names Wassist sends are kept "
                             "unless the file renames them")


#: What ``--out`` may name, by extension, for ``export`` and ``report``.
_TABLE_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


def _table_format(path: Path, flag: str) -> str:
    """``"csv"`` or ``"xlsx"`` from the file's extension; :class:`UsageError` for anything else."""
    fmt = _TABLE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"{flag} {path}: the extension chooses the format, .csv or .xlsx "
                         f"(got {path.suffix or 'none'!r})")
    return fmt


def _write_table(df: Any, path: Path, tz: str | None, within: str = AT_RISK_WITHIN) -> Path:
    """The conversations as CSV or as an Excel workbook (its at-risk sheet over ``within``),
    by ``path``'s extension."""
    from .excel import to_excel
    from .export import to_csv

    if _table_format(path, "--out") == "xlsx":
        return to_excel(df, path, tz=tz, within=within)
    return to_csv(df, path)


def _named(df: Any, names: dict[str, str] | None) -> Any:
    """``df`` with the channels of ``--channel-names`` named (unchanged without the flag)."""
    from .channels import name_channels

    return df if names is None else name_channels(df, names)


#: Each provider's filter flags, as their argparse destinations and as typed.
_FILTERS = {"wassist": {"agent": "--agent", "contact": "--contact", "has_unread": "--has-unread",
                        "after": "--after", "before": "--before", "wassist_status": "--wassist-status"},
            "briq": {"sender_id": "--sender-id", "recipient": "--recipient", "briq_status": "--briq-status",
                     "search": "--search"}}
_LABELS = {"wassist": "Wassist", "briq": "Briq"}


def _pull_flags(parser: argparse.ArgumentParser) -> None:
    from ._limits import RECIPIENT_LENGTH, SEARCH_MAX_LENGTH

    parser.add_argument("--provider", choices=["wassist", "briq", "all"], default="all",
                        type=lambda text: text.strip().lower(),
                        help="which provider to pull (default: all, meaning every provider whose key is set)")
    wassist = parser.add_argument_group("Wassist filters (only with Wassist pulled)")
    wassist.add_argument("--agent", type=_text_of_length(1, 200, "an agent id"), metavar="ID",
                         help="only conversations answered by this agent id")
    wassist.add_argument("--contact", type=_text_of_length(1, 200, "a contact"), metavar="TEXT",
                         help="only conversations with this contact (Wassist's contact filter)")
    wassist.add_argument("--has-unread", choices=["true", "false"],
                         help="only conversations with (true) or without (false) unread messages")
    wassist.add_argument("--after", type=_moment, metavar="DATETIME",
                         help="last message after this ISO date-time, e.g. 2026-09-01 or "
                              "2026-09-01T08:00+03:00 (no zone means UTC), or now")
    wassist.add_argument("--before", type=_moment, metavar="DATETIME",
                         help="last message before this ISO date-time (no zone means UTC), or now")
    wassist.add_argument("--wassist-status", choices=["active", "closed"],
                         help="only active or only closed conversations (default: both)")
    briq = parser.add_argument_group("Briq filters (only with Briq pulled)")
    briq.add_argument("--sender-id", type=_text_of_length(1, 200, "a sender id"), metavar="ID",
                      help="only conversations of this sender (the business number's id)")
    briq.add_argument("--recipient", type=_text_of_length(*RECIPIENT_LENGTH, "a recipient number"),
                      metavar="PHONE", help=f"exact recipient number ({RECIPIENT_LENGTH[0]} to "
                                            f"{RECIPIENT_LENGTH[1]} characters)")
    briq.add_argument("--briq-status", choices=["all", "open", "unread"],
                      help="all conversations, only open ones, or only unread ones (default: all)")
    briq.add_argument("--search", type=_text_of_length(1, SEARCH_MAX_LENGTH, "a search"), metavar="TEXT",
                      help=f"Briq's free-text search (at most {SEARCH_MAX_LENGTH} characters)")
    parser.add_argument("--deadline", type=_deadline, default=DEFAULT_DEADLINE, metavar="SECONDS",
                        help="seconds each provider's pull may take in all, retries and waits included, "
                             f"before it fails (default: {DEFAULT_DEADLINE:g}; 'none' for no limit)")
    _progress_flags(parser)


def _provider_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Loader keyword arguments per provider to pull; :class:`UsageError` for filters that cannot apply.

    Checked before any request: a filter of a provider that is not pulled (it would be
    silently ignored), and a reversed time range (it would silently match nothing).
    """
    from ._errors import NO_PROVIDER, AuthenticationError
    from .providers import PROVIDERS, keyed_providers

    keyed = keyed_providers()
    # What is wrong whatever the keys (exit 2) before a missing key (exit 1): a user who sets
    # the keys then meets no new error.
    _check_time_range(args)
    for name in PROVIDERS if args.provider == "all" else [args.provider]:
        _check_base_url(PROVIDERS[name])
    if args.provider != "all":
        pulled = [args.provider]
        why_not = {name: f"--provider {args.provider}" for name in PROVIDERS if name != args.provider}
    else:
        pulled = keyed
        why_not = {name: f"{provider.env_key} is not set" for name, provider in PROVIDERS.items()
                   if name not in pulled}
        if not pulled:
            raise AuthenticationError("no API key: set WASSIST_API_KEY and/or BRIQ_API_KEY "
                                      "(or try `wa-toolkit demo`)", provider=NO_PROVIDER)
    _check_filters(args, why_not)
    for name in pulled:
        if name not in keyed:
            raise AuthenticationError(f"no API key: set {PROVIDERS[name].env_key} (or try `wa-toolkit demo`)",
                                      provider=name)
    options = _filter_options(args)
    return {name: {**options[name], "deadline": args.deadline} for name in pulled}


def _check_filters(args: argparse.Namespace, why_not: Mapping[str, str]) -> None:
    """:class:`UsageError` for a filter of a provider not pulled (``why_not``: name -> why) or
    a reversed time range: either would be silently ignored or match nothing."""
    for name, reason in why_not.items():
        given = [flag for dest, flag in _FILTERS[name].items() if getattr(args, dest) is not None]
        if given:
            raise UsageError(f"{', '.join(given)} {'filters' if len(given) == 1 else 'filter'} "
                             f"{_LABELS[name]} conversations, but {_LABELS[name]} is not pulled ({reason})")
    _check_time_range(args)


def _check_time_range(args: argparse.Namespace) -> None:
    """:class:`UsageError` for a reversed or empty --after/--before range: it would match nothing."""
    if args.after is not None and args.before is not None and args.after >= args.before:
        raise UsageError(f"--after ({args.after:%Y-%m-%d %H:%M} UTC) must be earlier than --before "
                         f"({args.before:%Y-%m-%d %H:%M} UTC): the range is empty")


def _check_base_url(provider: Any) -> None:
    """:class:`UsageError` for a server variable that is set but is not an http(s) server root.

    The loaders would refuse it too (:meth:`Provider.base_url`), but in their own words
    (``base_url``); here it is named as the person set it.
    """
    import os

    value = os.environ.get(provider.env_base_url)
    if not value:
        return
    try:
        provider.base_url(value)
    except ValueError as exc:
        raise UsageError(str(exc).replace(f"{provider.name}: base_url", provider.env_base_url, 1)) from None


def _check_output_folder(folder: Path, flag: str) -> None:
    """:class:`UsageError` unless ``folder`` exists, or can be made, and takes files.

    Checked before a pull, so that no pull is spent on output that cannot be written.
    Only the last folder of the path is ever created: a missing folder above it is more
    likely a typo than a wish.
    """
    if folder.exists():
        if not folder.is_dir():
            raise UsageError(f"{flag} {folder}: is a file, not a folder")
        _probe_folder(folder, flag, folder)
        return
    if folder.parent.exists() and not folder.parent.is_dir():
        raise UsageError(f"{flag} {folder}: {folder.parent} is a file, not a folder")
    if not folder.parent.exists():
        raise UsageError(f"{flag} {folder}: the folder above it, {folder.parent}, does not exist "
                         "(only the last folder is created)")
    _probe_folder(folder.parent, flag, folder)


def _check_output_file(path: Path, flag: str) -> None:
    """:class:`UsageError` unless ``path`` can be written: its folder exists and takes files."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; name a file such as {path / 'conversations.csv'}")
    if path.parent.exists() and not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: {path.parent} is a file, not a folder")
    if not path.parent.exists():
        raise UsageError(f"{flag} {path}: the folder {path.parent} does not exist (it is not created)")
    _probe_folder(path.parent, flag, path)


def _check_input_folder(folder: Path, flag: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {folder}: it is a file; name a folder")
    if not folder.is_dir():
        raise UsageError(f"{flag} {folder}: no such folder")


@contextlib.contextmanager
def _folder_named_by(flag: str) -> Iterator[None]:
    """A snapshot folder the user named that cannot serve (:class:`SnapshotError`) as an
    argument to correct: :class:`UsageError` naming ``flag``, exit 2."""
    from ._errors import SnapshotError

    try:
        yield
    except SnapshotError as exc:
        raise UsageError(f"{flag} {exc}") from None


def _check_history_folder(folder: Path) -> None:
    """A --history folder that holds snapshots: an empty one would silently drop the trends section."""
    from .history import snapshot_files

    _check_input_folder(folder, "--history")
    with _folder_named_by("--history"):  # the folder above the history, say
        files = snapshot_files(folder)
    if not files:
        raise UsageError(f"--history {folder}: no snapshots there; name the folder `wa-toolkit snapshot "
                         "--root` wrote (the one holding provider=NAME folders)")


def _probe_folder(folder: Path, flag: str, named: Path) -> None:
    """Create and remove a file in ``folder``: permissions, read-only mounts and ACLs all show."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".wa-toolkit-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {named}: cannot write into {folder} ({exc.strerror or exc})") from None


def _filter_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Both providers' loader arguments from the filter flags."""
    wassist = {"agent": args.agent, "contact": args.contact,
               "has_unread": None if args.has_unread is None else args.has_unread == "true",
               "last_message_after": args.after, "last_message_before": args.before,
               "status": args.wassist_status, "progress": args.progress}
    briq = {"sender_id": args.sender_id, "recipient": args.recipient, "status": args.briq_status or "all",
            "search": args.search, "progress": args.progress}
    return {"wassist": {k: v for k, v in wassist.items() if v is not None},
            "briq": {k: v for k, v in briq.items() if v is not None}}


def _summary(df: Any, within: str = AT_RISK_WITHIN) -> str:
    import pandas as pd

    from . import metrics
    from .display import at_risk_words, counted, format_share
    from .report import headline

    numbers = headline(df, within=within)
    per_provider = metrics.unread_summary(df)
    lines = [f"{numbers['conversations']:,} conversations, {numbers['unread_conversations']:,} unread"]
    for provider, row in per_provider.iterrows():
        count = row["unread_messages"]
        messages = "" if pd.isna(count) else f", {int(count):,} unread messages"
        share = format_share(row["unread_share"])
        lines.append(f"  {provider}: {row['conversations']:,} conversations, "
                     f"{row['unread_conversations']:,} unread ({share}){messages}")
    lines.append(f"{counted(numbers['open_windows'], 'reply window open', 'reply windows open')}; "
                 f"{counted(numbers['closing_within_1h'], 'closes', 'close')} within 1 h")
    lines.append(f"{at_risk_words(numbers['at_risk'], within)}; "
                 f"{counted(numbers['needs_template'], 'already needs', 'already need')} a template")
    return "\n".join(lines)


def _pull(args: argparse.Namespace, check_output: Callable[[], None]) -> Any:
    """The pull the flags ask for, after every check that can refuse it: output, filters, then keys.

    Nothing is requested for a command that would be refused or whose output cannot be written.
    The arguments (exit 2) are checked before the keys (exit 1), so that a user who sets the
    keys does not meet an argument error next.
    """
    from .providers import load_conversations

    check_output()
    options = _provider_options(args)
    return load_conversations(options)


def _wrote(df: Any, *paths: Path, within: str = AT_RISK_WITHIN) -> int:
    print(_summary(df, within))
    print("\n".join(f"wrote {path}" for path in paths))
    return 0


def _demo(args: argparse.Namespace) -> int:
    """``wa-toolkit demo``: the sandbox pulled and reported, into --out."""
    from ._tz import resolve_tz
    from .demo import run_demo
    from .history import clear_simulated_history

    _check_output_folder(args.out, "--out")
    tz = resolve_tz(args.tz)
    with _folder_named_by("--out"):
        clear_simulated_history(args.out / "history")  # checked before anything is written
    _wrote(*run_demo(args.out, args.seed, args.fault_rate, args.progress, tz=tz,
                     channel_names=args.channel_names))
    print(f"wrote {args.out / 'history'} (the simulated history's daily snapshots, for report --history)")
    return 0


def _export(args: argparse.Namespace) -> int:
    """``wa-toolkit export``: a live pull into one CSV file or Excel workbook."""
    from ._tz import resolve_tz

    def check_output() -> None:
        _check_output_file(args.out, "--out")
        if _table_format(args.out, "--out") != "xlsx" and args.within is not None:
            raise UsageError(f"--within sets the at-risk sheet of a workbook, and {args.out.name} is CSV: "
                             "name an .xlsx file, or leave --within out")
        resolve_tz(args.tz)

    df = _named(_pull(args, check_output), args.channel_names)
    within = args.within or AT_RISK_WITHIN
    return _wrote(df, _write_table(df, args.out, resolve_tz(args.tz), within), within=within)


def _report(args: argparse.Namespace) -> int:
    """``wa-toolkit report``: a live pull into report.html and the conversations (CSV or workbook)."""
    from ._tz import resolve_tz
    from .history import load_snapshots
    from .report import write_report

    # --out names a folder (report.html and conversations.csv), or the data file to write
    # (.csv or .xlsx) with report.html beside it.
    names_file = args.out.suffix != "" and not args.out.is_dir()
    folder = args.out.parent if names_file else args.out
    data_path = args.out if names_file else folder / "conversations.csv"

    def check_output() -> None:
        # Either way the report writes two files into one folder, made when it is missing (the
        # last folder of the path only, as for any output folder).
        _check_output_folder(folder, "--out")
        if names_file:
            _table_format(args.out, "--out")
        if args.history is not None:
            _check_history_folder(args.history)
        resolve_tz(args.tz)

    df = _named(_pull(args, check_output), args.channel_names)
    tz = resolve_tz(args.tz)
    history = _named(load_snapshots(args.history), args.channel_names) if args.history is not None else None
    folder.mkdir(exist_ok=True)
    data_path = _write_table(df, data_path, tz, args.within)
    return _wrote(df, data_path, write_report(df, folder / "report.html", within=args.within,
                                              history=history, tz=tz), within=args.within)


def _sample(args: argparse.Namespace) -> int:
    """``wa-toolkit sample``: the seeded sandbox as the offline sample CSV."""
    from . import export
    from .demo import pull_sandbox

    _check_output_file(args.out, "--out")
    path = export.to_csv(pull_sandbox(args.seed, progress=False), args.out)
    print(f"wrote {path}")
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    """``wa-toolkit snapshot``: a live pull (or a refresh, --incremental) saved as a dated snapshot."""
    from .history import save_snapshot

    if not args.incremental:
        if args.full_every is not None:
            raise UsageError("--full-every applies to --incremental snapshots only: add --incremental, "
                             "or leave --full-every out (a snapshot without it is a full pull)")
        df = _named(_pull(args, lambda: _check_output_folder(args.root, "--root")), args.channel_names)
        return _wrote(df, *save_snapshot(df, args.root, providers=list(df.attrs["pulls"])))
    from ._refresh import DEFAULT_FULL_EVERY, refresh_snapshot

    _check_output_folder(args.root, "--root")
    options = _provider_options(args)
    full_every = DEFAULT_FULL_EVERY if args.full_every is None else args.full_every
    df, files = refresh_snapshot(args.root, options, progress=args.progress, full_every=full_every,
                                 channel_names=args.channel_names)
    print(_refresh_lines(df))
    return _wrote(df, *files)


def _sample_history(args: argparse.Namespace) -> int:
    """``wa-toolkit sample-history``: a simulated history written under --root."""
    from .demo import write_sample_history
    from .history import clear_simulated_history

    _check_output_folder(args.root, "--root")
    with _folder_named_by("--root"):  # live snapshots, or the folder above a history
        removed = clear_simulated_history(args.root)
    files = write_sample_history(args.root, args.days, args.seed)
    replaced = f" (replacing the {removed} of an earlier simulated history)" if removed else ""
    print(f"wrote {len(files)} snapshot files under {args.root}{replaced}")
    return 0


def _refresh_lines(df: Any) -> str:
    """One line per provider: what the incremental snapshot did."""
    lines = []
    for name, info in df.attrs.get("refresh", {}).items():
        if info["full_pull"]:
            lines.append(f"  {name}: full pull ({info['reason']}), {info['requests']} requests")
        else:
            lines.append(f"  {name}: refreshed, {info['rows_fetched']:,} rows fetched, "
                         f"{info['rows_carried']:,} carried, {info['requests']} requests")
    return "\n".join(lines)


def _watch(args: argparse.Namespace) -> int:
    from .watch import Watch

    if args.report is not None:
        if args.report.suffix.lower() not in (".html", ".htm"):
            raise UsageError(f"--report {args.report}: name an .html file, e.g. live.html")
        _check_output_file(args.report, "--report")
    if not args.sandbox:
        if args.seed is not None:
            raise UsageError("--seed sets the sandbox's data: add --sandbox to watch the sandbox, or leave "
                             "--seed out to watch the servers the keys point at")
        from .providers import PROVIDERS

        options = {name: {**value, "progress": False} for name, value in _provider_options(args).items()}
        # The screen and the report say which servers they watch, as --sandbox's say the sandbox's.
        servers = sorted({_server(PROVIDERS[name].base_url(value.get("base_url")))
                          for name, value in options.items()})
        return Watch(options, args.every, within=args.within, report=args.report, rounds=args.rounds,
                     channel_names=args.channel_names, tz=args.tz, label=f"live {', '.join(servers)}").run()
    from .demo import SandboxTraffic, demo_channel_names, simulated_sandbox
    from .sandbox import SandboxConfig

    names = ["wassist", "briq"] if args.provider == "all" else [args.provider]
    _check_filters(args, {name: f"--provider {args.provider}" for name in ("wassist", "briq")
                          if name not in names})
    seed = 7 if args.seed is None else args.seed
    config = SandboxConfig(seed=seed)
    filters = _filter_options(args)
    # The demo's inbox after a few simulated days of customers and agents (not the sandbox's
    # raw seeded data, which no team's inbox resembles), its senders named as
    # data/briq_channel_names.csv names them.
    sandbox = simulated_sandbox(config)
    channel_names = demo_channel_names(seed, args.channel_names)
    with sandbox:
        keys = {"wassist": config.wassist_key, "briq": config.briq_key}
        # The sandbox keeps no request budget, so the watch needs none either.
        options = {name: {**filters[name], "api_key": keys[name], "base_url": sandbox.base_url,
                          "rate_limit": None, "progress": False} for name in names}
        return Watch(options, args.every, within=args.within, report=args.report, rounds=args.rounds,
                     before_round=SandboxTraffic(sandbox), label=f"sandbox {sandbox.base_url}",
                     channel_names=channel_names, tz=args.tz,
                     title="WhatsApp backlog (live watch of a simulated inbox)").run()


def _serve_sandbox(args: argparse.Namespace) -> int:
    """``wa-toolkit sandbox``: serve the sandbox until interrupted."""
    from .sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(seed=args.seed, wassist_conversations=args.wassist_conversations,
                           briq_conversations=args.briq_conversations, wassist_encoding=args.wassist_encoding,
                           briq_envelope=args.briq_envelope, latency=args.latency, fault_rate=args.fault_rate,
                           churn_rate=args.churn_rate, max_page_size=args.max_page_size,
                           rate_limit=args.rate_limit)
    if args.raw:
        sandbox = Sandbox(config, port=args.port)
    else:
        # An inbox after a few simulated days of customers and agents, as watch --sandbox
        # serves: the raw seeded data has a third of its threads unread, as no team's inbox.
        from .demo import simulated_sandbox

        sandbox = simulated_sandbox(config, port=args.port, wassist_conversations=args.wassist_conversations,
                                    briq_conversations=args.briq_conversations)
    try:
        sandbox.start()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise UsageError(f"--port {args.port}: the port is already in use; choose another, "
                         "or --port 0 for any free one") from None
    print(f"sandbox serving Wassist and Briq at {sandbox.base_url} (Ctrl-C to stop)")
    print("point the loaders at it with:")
    for name, value in sandbox.environment().items():
        print(f"  export {name}={value}")
    names_file = Path(__file__).resolve().parent.parent / "data" / "briq_channel_names.csv"
    if args.seed == 7 and names_file.is_file():
        # Briq sends sender ids only; the demo and watch --sandbox name them from this file (in
        # a checkout of the project: the package itself does not carry it).
        print(f"Briq sends its senders' ids only: name them with --channel-names {names_file} "
              "(on export, report, snapshot and watch), as the demo does")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def _signed_values_joined(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> list[str]:
    """``--every -5s`` as ``--every=-5s``, so that the value's own check explains what is wrong.

    argparse takes a value that starts with a minus sign for an option and says only
    "expected one argument"; joined to its option, the value reaches the option's reader.
    """
    tokens = list(sys.argv[1:] if argv is None else argv)
    taking_values: set[str] = set()
    parsers = [parser]
    while parsers:
        current = parsers.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
            elif action.option_strings and action.nargs is None and action.const is None:
                taking_values.update(action.option_strings)
    joined: list[str] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if token in taking_values and len(following) > 1 and following[0] == "-" and following[1].isdigit():
            joined.append(f"{token}={following}")
            position += 2
        else:
            joined.append(token)
            position += 1
    return joined


@contextlib.contextmanager
def _warnings_in_one_line() -> Iterator[None]:
    """Warnings said as the command's own lines (``wa-toolkit: warning: ...``), as its errors
    are, instead of Python's file, line and source (the toolkit's modules mean nothing to a
    user of the command). Only their wording changes: recorded warnings
    (``catch_warnings(record=True)``) are still recorded, not printed."""
    def one_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 line: str | None = None) -> str:
        return f"wa-toolkit: warning: {redact(str(message))}\n"

    formatted, warnings.formatwarning = warnings.formatwarning, one_line
    try:
        yield
    finally:
        warnings.formatwarning = formatted


def _key_to_check(exc: BaseException) -> str:
    """For a refused key, the variable the command read it from: the one to fix; and the other
    providers' keys found missing or refused with it."""
    from ._errors import AuthenticationError
    from .providers import PROVIDERS
    from .providers._load import key_problem_words

    if not isinstance(exc, AuthenticationError):
        return ""
    check = (f" (check {PROVIDERS[exc.provider].env_key})"
             if exc.status in (401, 403) and exc.provider in PROVIDERS else "")
    # The other providers' keys, checked as this one failed: both to fix in one go.
    for name, refused in exc.also_refused.items():
        check += f"; {name}: its API key is {key_problem_words(refused)} (check {PROVIDERS[name].env_key})"
    return check


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wa-toolkit`` and ``python -m toolkit``; returns the exit code."""
    # A closed stdout or stderr never stops a command, and a stop signal ends it at once
    # without a half-written file (see toolkit/_process.py and the README's "Signals and failures").
    with stop_on_signals("wa-toolkit"), forgiving_streams(), _warnings_in_one_line():
        parser = build_parser()
        args, unknown = parser.parse_known_args(_signed_values_joined(parser, argv))
        if unknown:
            # Said by the command's own parser, so the hint names that command's --help.
            commands = next(action for action in parser._actions
                            if isinstance(action, argparse._SubParsersAction))
            command = commands.choices[args.command]
            command.error(command.unrecognized(unknown) if isinstance(command, _Parser)
                          else f"unrecognized arguments: {' '.join(unknown)}")
        try:
            return args.handler(args)
        except ValueError as exc:
            print(f"wa-toolkit: error: {redact(exc)}", file=sys.stderr)
            return EXIT_USAGE
        except ToolkitError as exc:
            print(f"wa-toolkit: error: {redact(exc)}{_key_to_check(exc)}", file=sys.stderr)
            return EXIT_FAILED
        except OSError as exc:
            print(f"wa-toolkit: error: {redact(exc)}", file=sys.stderr)
            return EXIT_FAILED
        except KeyboardInterrupt:
            print("wa-toolkit: interrupted", file=sys.stderr)
            return exit_code(signal.SIGINT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
