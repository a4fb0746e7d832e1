"""``wa-toolkit watch``: the at-risk list kept current in a terminal, refreshed incrementally.

Each round refreshes the frame with :func:`toolkit.refresh` (the first round is a full
pull), then the screen shows the headline numbers and the conversations whose window
closes soonest with unread messages, their time left counting down second by second until
the next round. The pause between rounds is at least ``every`` and long enough that the
watch spends at most half of a provider's documented request budget (Wassist: 100
requests a minute), so a dashboard left running all day never starves other clients of
the same key.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from . import metrics
from ._frames import duration
from ._http import RateLimit
from ._limits import AT_RISK_WITHIN
from ._refresh import LOADER_SETTINGS, refresh
from ._tz import resolve_tz
from .channels import channel_labels
from .display import at_risk_words, counted, format_share, next_window_words, zone_label
from .providers import PROVIDERS, load_conversations

__all__ = ["Watch", "render", "budget_pause"]

#: Share of a provider's documented request budget the watch allows itself.
BUDGET_SHARE = 0.5
_CLEAR = "\x1b[H\x1b[2J"


def budget_pause(requests: Mapping[str, int],
                 limits: Mapping[str, RateLimit | None] | None = None) -> pd.Timedelta:
    """The shortest pause after a round that keeps its requests within the budget share.

    A round of ``r`` requests to a provider allowing ``n`` per ``s`` seconds needs
    ``r / (n * BUDGET_SHARE) * s`` seconds for the watch to stay within its share.
    ``limits`` gives each provider's budget in effect (default: the documented one).
    """
    pause = pd.Timedelta(0)
    for name, count in requests.items():
        if limits is not None and name in limits:
            limit = limits[name]
        else:
            limit = PROVIDERS[name].default_rate_limit if name in PROVIDERS else None
        if limit is not None and count:
            seconds = count / (limit.requests * BUDGET_SHARE) * limit.per_seconds
            pause = max(pause, pd.Timedelta(seconds=seconds))
    return pause


def render(df: pd.DataFrame, *, now: pd.Timestamp, within: str, status: str, rows: int = 15) -> str:
    """One screen: the status line, the headline numbers, and the at-risk list as of ``now``."""
    summary = metrics.unread_summary(df, by=None).iloc[0]
    buckets = metrics.expiry_summary(df, by=None, as_of=now).iloc[0]
    open_windows = int(buckets.drop("closed").sum())
    risky = metrics.at_risk(df, within=within, as_of=now)
    lines = [
        status,
        f"{int(summary['conversations']):,} conversations, {int(summary['unread_conversations']):,} unread "
        f"({format_share(summary['unread_share'])}) · "
        f"{counted(open_windows, 'window open', 'windows open')}, "
        f"{counted(int(buckets['<1h']), 'closes', 'close')} within 1 h",
        f"At risk: {at_risk_words(len(risky), within)}",
    ]
    if not len(risky):
        lines.append(f"  {next_window_words(df, now)}")
    else:
        # Named where the channel has a name, else a short id, as the report and charts show it.
        channels = channel_labels(risky)
        lines.append(f"  {'time left':>9}  {'provider':<8}  {'contact':<22}  {'channel':<20}  unread")
        for index, row in risky.head(rows).iterrows():
            unread = "" if pd.isna(row["unread_count"]) else str(int(row["unread_count"]))
            lines.append(f"  {_clock_text(row['window_remaining']):>9}  {row['provider']:<8}  "
                         f"{_cell(row['contact_name'], row['contact_phone']):<22}  "
                         f"{_cell(channels.loc[index], None):<20}  {unread}")
        if len(risky) > rows:
            lines.append(f"  ... and {len(risky) - rows:,} more")
    return "\n".join(lines)


def _clock_text(remaining: Any) -> str:
    if pd.isna(remaining):
        return "?"
    seconds = max(0, int(pd.Timedelta(remaining).total_seconds()))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _cell(value: Any, fallback: Any, width: int = 20) -> str:
    if not (isinstance(value, str) and value.strip()):
        value = fallback if isinstance(fallback, str) else ""
    text = value
    text = " ".join(str(text).split())  # no control characters or line breaks from user-written names
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Watch:
    """The watch loop.

    Parameters
    ----------
    providers : dict
        Provider name -> loader keyword arguments (filters and settings) of the first pull.
    every : Timedelta
        Pause between rounds (at least; see :func:`budget_pause`).
    within : str
        Horizon of the at-risk list.
    report : path, optional
        HTML report rewritten atomically after every round.
    rounds : int, optional
        Stop after this many rounds (``None``: until interrupted).
    before_round : callable, optional
        Called before every round after the first (the sandbox demo makes churn there).
    out : text stream
        Where the screen goes; redrawn every second when it is a terminal, written once a
        round otherwise.
    label : str
        What is being watched, for the status line.
    channel_names : mapping, optional
        ``{channel_id: name}`` given to every round's frame (:func:`toolkit.name_channels`),
        for the screen and the report.
    tz : str, optional
        IANA zone the screen and the report show times in (default ``WA_TOOLKIT_TZ``, else UTC).
    title : str
        The report's title.
    """

    providers: dict[str, dict[str, Any]]
    every: pd.Timedelta
    within: str = AT_RISK_WITHIN
    report: Path | None = None
    rounds: int | None = None
    before_round: Callable[[], object] | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    label: str = "live"
    frame: pd.DataFrame | None = None
    channel_names: Mapping[str, str] | None = None
    tz: str | None = None
    title: str = "WhatsApp backlog (live watch)"

    def __post_init__(self) -> None:
        refused = ValueError(f"every must be a duration of zero or more, such as '5m', got {self.every!r}")
        try:
            every = duration(self.every, "every")  # the toolkit's reader: no bare numbers, no NaT
        except ValueError as unreadable:
            raise refused from unreadable
        if every < pd.Timedelta(0):
            raise refused
        self.every = every

    def run(self) -> int:
        """Watch until ``rounds`` are done (exit code 0) or interrupted.

        Under ``wa-toolkit``, Ctrl-C ends the process with exit code 130 (the command line's
        signal handling); called directly, a ``KeyboardInterrupt`` stops the loop and 0 comes back.
        """
        interactive = bool(getattr(self.out, "isatty", lambda: False)())
        number = 0
        try:
            while self.rounds is None or number < self.rounds:
                number += 1
                requests = self._round(number)
                pause = max(self.every, budget_pause(requests, self._limits()))
                last_round = self.rounds is not None and number >= self.rounds
                status = self._status(number, requests)
                deadline = time.monotonic() + pause.total_seconds()
                # Whole seconds left, rounded up: the ticks below count down from there (7.2 s
                # shows 8, then 7 at 7 s before the deadline; truncated, 7 showed twice).
                left = pd.Timedelta(seconds=math.ceil(pause.total_seconds()))
                self._show(status, left if not last_round else None, interactive)
                if last_round:
                    break
                while interactive:
                    # Each tick waits for the next whole second before the deadline, so that
                    # the countdown shows every second once (sleeping one second after a
                    # redraw that took some time skipped one).
                    left = math.ceil(deadline - time.monotonic()) - 1
                    if left < 1:
                        break
                    time.sleep(max(0.0, deadline - left - time.monotonic()))
                    self._show(status, pd.Timedelta(seconds=left), interactive)
                time.sleep(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            self.out.write("\nwatch stopped\n")
            self.out.flush()
        return 0

    def _limits(self) -> dict[str, RateLimit | None]:
        """Each provider's request budget as its loader keeps it."""
        limits = {}
        for name, options in self.providers.items():
            chosen = options.get("rate_limit", "default")
            limits[name] = PROVIDERS[name].default_rate_limit if chosen == "default" else chosen
        return limits

    def _round(self, number: int) -> dict[str, int]:
        if self.frame is None:
            self.frame = load_conversations(self.providers)
            pulls = self.frame.attrs["pulls"]
            requests = {name: int(pull.get("requests", 0)) for name, pull in pulls.items()}
        else:
            if self.before_round is not None:
                self.before_round()
            settings = {name: {key: value for key, value in options.items() if key in LOADER_SETTINGS}
                        for name, options in self.providers.items()}
            self.frame = refresh(self.frame, settings, progress=False)
            requests = {name: int(info["requests"]) for name, info in self.frame.attrs["refresh"].items()}
        if self.channel_names is not None:
            from .channels import name_channels

            self.frame = name_channels(self.frame, self.channel_names)
        if self.report is not None:
            from .report import write_report

            write_report(self.frame, self.report, within=self.within, source=self.label,
                         title=self.title, tz=self.tz)
        return requests

    def _status(self, number: int, requests: Mapping[str, int]) -> str:
        assert self.frame is not None
        kind = "full pull" if number == 1 else "refresh"
        fallbacks = [name for name, info in self.frame.attrs.get("refresh", {}).items() if info["full_pull"]]
        if fallbacks and number > 1:
            kind += f" (full pull of {', '.join(fallbacks)})"
        spent = ", ".join(f"{name} {count}" for name, count in requests.items())
        stamp = self.frame["fetched_at"].max() if len(self.frame) else pd.Timestamp.now(tz="UTC")
        zone = resolve_tz(self.tz)
        local = stamp.tz_convert(zone)
        # The report is rewritten before the screen is drawn: a log of the screens says so.
        wrote = f" · wrote {self.report}" if self.report is not None else ""
        return (f"wa-toolkit watch · {self.label} · round {number}: {kind} at {local:%H:%M:%S} "
                f"{zone_label(zone, stamp)}, requests: {spent}{wrote}")

    def _show(self, status: str, next_in: pd.Timedelta | None, interactive: bool) -> None:
        assert self.frame is not None
        now = pd.Timestamp.now(tz="UTC")
        suffix = "" if next_in is None else f" · next in {_clock_text(next_in)}"
        screen = render(self.frame, now=now, within=self.within, status=status + suffix)
        if interactive:
            self.out.write(_CLEAR + screen + "\n")
        else:
            self.out.write(screen + "\n\n")
        self.out.flush()
