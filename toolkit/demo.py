"""The demo's orchestration: a seeded sandbox pulled through the real loaders, then the outputs.

``wa-toolkit demo`` and ``wa-toolkit sample`` run this; it starts and stops its own sandbox
on 127.0.0.1, so it needs no keys and no network.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._limits import SANDBOX_DAYS

if TYPE_CHECKING:
    from .sandbox import Sandbox, SandboxConfig, SimulatedInbox

__all__ = ["pull_sandbox", "run_demo", "demo_inbox", "demo_channel_names", "simulated_sandbox",
           "write_sample_history", "SandboxTraffic"]

#: Channels per provider of the demo's inbox.
DEMO_CHANNELS = 4


def demo_inbox(seed: int = 7, days: int = 28, wassist_conversations: int = 800,
               briq_conversations: int = 1000) -> SimulatedInbox:
    """The demo's inbox (800 Wassist and 1,000 Briq threads at first) set to simulate ``days`` days.

    Returns a :class:`toolkit.sandbox.SimulatedInbox`: iterate its ``snapshots()`` for the
    daily history, or ``advance(inbox.end)`` for the final state alone.
    """
    from .sandbox import HistoryConfig, SimulatedInbox

    return SimulatedInbox(HistoryConfig(seed=seed, days=days, wassist_conversations=wassist_conversations,
                                        briq_conversations=briq_conversations, channels=DEMO_CHANNELS))


def simulated_sandbox(config: SandboxConfig | None = None, *, port: int = 0, days: int = SANDBOX_DAYS,
                      wassist_conversations: int = 800, briq_conversations: int = 1000) -> Sandbox:
    """A sandbox (not started) serving the demo's inbox after ``days`` simulated days of
    customers and agents: a few percent unread, windows opening and closing through the day,
    as a team's inbox; :class:`~toolkit.sandbox.Sandbox` alone serves the raw seeded data
    (a third of it unread), for stress tests.

    Parameters
    ----------
    config : SandboxConfig, optional
        Seed, latency, faults and the rest; its conversation counts are not used (the
        simulation's are ``wassist_conversations`` and ``briq_conversations``).
    port : int, default 0
        0: any free port.
    days, wassist_conversations, briq_conversations
        The simulation: days of activity and the threads each provider starts with.

    Examples
    --------
    >>> import toolkit as tk
    >>> from toolkit.demo import simulated_sandbox
    >>> with simulated_sandbox() as sandbox:  # doctest: +SKIP
    ...     df = tk.load_briq(sandbox.config.briq_key, sandbox.base_url)
    """
    from .sandbox import Sandbox, SandboxConfig

    config = config if config is not None else SandboxConfig()
    inbox = demo_inbox(config.seed, days=days, wassist_conversations=wassist_conversations,
                       briq_conversations=briq_conversations)
    inbox.advance(inbox.end)
    sandbox = Sandbox(config, port=port)
    sandbox.reset_data(inbox.threads)
    return sandbox


def demo_channel_names(seed: int = 7, channel_names: dict[str, str] | None = None) -> dict[str, str]:
    """Names of the demo's Briq senders (as ``data/briq_channel_names.csv`` has seed 7's),
    then ``channel_names`` over them."""
    from .sandbox import channel_names as sandbox_channel_names

    return {**sandbox_channel_names("briq", seed, DEMO_CHANNELS), **(channel_names or {})}


def pull_sandbox(seed: int = 7, fault_rate: float = 0.0, progress: bool | None = None,
                 conversations: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every conversation of a fresh seeded sandbox, pulled through the real loaders.

    ``conversations`` (provider -> threads, e.g. a :class:`toolkit.sandbox.SimulatedInbox`'s
    final state) replaces the seeded data as what the sandbox serves.
    """
    from .providers import load_conversations
    from .sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(seed=seed, fault_rate=fault_rate)
    sandbox = Sandbox(config)
    if conversations is not None:
        sandbox.reset_data(conversations)
    with sandbox:
        return load_conversations({
            # The sandbox keeps no request budget, so the client needs none either.
            "wassist": {"api_key": config.wassist_key, "base_url": sandbox.base_url, "progress": progress,
                        "rate_limit": None},
            "briq": {"api_key": config.briq_key, "base_url": sandbox.base_url, "progress": progress},
        })


def run_demo(out: Path, seed: int = 7, fault_rate: float = 0.0, progress: bool | None = None, *,
             tz: str | None = None, channel_names: dict[str, str] | None = None,
             ) -> tuple[pd.DataFrame, Path, Path, Path]:
    """Simulate four weeks of the sandbox's inbox, pull its final state through the real
    loaders, and write the CSV, the workbook and the report.

    The simulated daily snapshots go under ``out/history`` (replacing those of an earlier
    run) and end with the pull itself, so the report's latest trend point is its headline.
    Briq's API sends sender ids only: the demo names the sandbox's senders as
    ``data/briq_channel_names.csv`` does, then as ``channel_names`` says (what
    ``--channel-names`` does with a team's own file).

    Raises
    ------
    SnapshotError
        ``out/history`` holds snapshots of live pulls (see :func:`toolkit.history.clear_simulated_history`).

    Parameters
    ----------
    tz : str, optional
        IANA zone the workbook and the report show times in (default ``WA_TOOLKIT_TZ``,
        else UTC).
    channel_names : dict, optional
        ``{channel_id: name}`` applied over the sandbox's own names.

    Returns
    -------
    (frame, csv_path, xlsx_path, report_path)
        The pulled conversations and the three files written.
    """
    from . import export, report
    from .channels import name_channels
    from .excel import to_excel
    from .history import clear_simulated_history, load_snapshots, save_snapshot
    from .sandbox._history import SIMULATED

    names = demo_channel_names(seed, channel_names)
    out.mkdir(exist_ok=True)
    history_root = out / "history"
    clear_simulated_history(history_root)  # an earlier demo's; live snapshots are refused
    inbox = demo_inbox(seed)
    _save_history(inbox, history_root, names)
    combined = name_channels(pull_sandbox(seed, fault_rate, progress, conversations=inbox.threads), names)
    for record in combined.attrs.get("pulls", {}).values():
        record[SIMULATED] = True  # a real pull, of a simulated inbox
    save_snapshot(combined, history_root)
    csv_path = export.to_csv(combined, out / "conversations.csv")
    xlsx_path = to_excel(combined, out / "conversations.xlsx", tz=tz)
    report_path = report.write_report(combined, out / "report.html", source="built-in sandbox",
                                      title="WhatsApp backlog report (sandbox demo)",
                                      history=load_snapshots(history_root), tz=tz)
    return combined, csv_path, xlsx_path, report_path


def write_sample_history(root: str | os.PathLike[str], days: int = 28, seed: int = 7, *,
                         channel_names: dict[str, str] | None = None) -> list[Path]:
    """The demo's simulated history, ``days`` daily snapshots of it, saved under ``root``.

    The inbox is the demo's and the sandbox's (four channels a provider, some 3,000 threads
    by the last day), its Briq senders named as the demo names them, then as
    ``channel_names`` says: trends drawn from it show the channels and sizes the sandbox
    serves. Returns the files written; read them with :func:`toolkit.load_snapshots`.
    """
    return _save_history(demo_inbox(seed, days), root, demo_channel_names(seed, channel_names))


def _save_history(inbox: SimulatedInbox, root: str | os.PathLike[str], names: dict[str, str]) -> list[Path]:
    """Every daily snapshot of ``inbox`` (simulated to its end) saved under ``root``, channels named."""
    from .channels import name_channels
    from .history import save_snapshot

    written: list[Path] = []
    for moment, frame in inbox.snapshots():
        written += save_snapshot(name_channels(frame, names), root, snapshot_at=moment)
    return written


class SandboxTraffic:
    """Live traffic for a watched sandbox (``watch --sandbox``), called before each round.

    Customers write at a steady pace in time, not per round: about 0.5% of the inbox a
    minute (new messages, reads, new threads; some ten events a minute in the sandbox's
    inbox), whether rounds come back to back or five minutes apart. Agents answer half of
    the backlog grown since the watch began, so that it moves both ways around where it
    was instead of climbing round after round.

    Parameters
    ----------
    sandbox : Sandbox
        Started, serving the inbox watched.
    clock : callable, default time.monotonic
        Seconds, for the time between two rounds.
    """

    #: Events a minute, as a share of the conversations.
    SHARE_PER_MINUTE = 0.005
    #: Share of the backlog grown since the start that agents answer each round.
    ANSWERED_SHARE = 0.5

    def __init__(self, sandbox: Sandbox, clock: Callable[[], float] = time.monotonic) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.conversations = sum(len(items) for items in sandbox.conversations.values())
        self.baseline = sandbox.unread_conversations()
        self._last = clock()
        self._owed = 0.0  # events due but less than one yet

    def __call__(self) -> int:
        """Apply the traffic due since the last call; returns the events applied."""
        now = self.clock()
        self._owed += self.conversations * self.SHARE_PER_MINUTE * max(0.0, now - self._last) / 60
        self._last = now
        events = int(self._owed)
        if not events:
            return 0
        self._owed -= events
        self.sandbox.churn(events, ("new", "message", "read"))
        grown = self.sandbox.unread_conversations() - self.baseline
        if grown > 0:
            self.sandbox.answer_unread(round(grown * self.ANSWERED_SHARE))
        return events
