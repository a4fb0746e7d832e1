"""A backlog that evolves over days, as snapshots: trends to look at without keys.

The simulation is a model of an inbox, run on a seeded clock in steps of a few minutes,
with the rules the live sandbox keeps (:class:`~._data.Conversation`):

- Customers write more on weekdays and in the daytime. A message opens the reply window
  or resets it to exactly 24 h after that message; some messages start new threads, most
  continue a recently active one.
- Each channel works business hours (weekdays 08:00-18:00 UTC, a short Saturday morning),
  answering unread threads oldest first at about its staffing; it reads some messages
  ("Thanks!") without answering and closes threads it is done with. A reply after the
  window closed is a paid template: it does not reopen the window. A few messages are
  overlooked for a while (misrouted, missed), so some windows are lost on any day.
- One channel per provider slips: over the last third its capacity falls, so its unread
  pile, its waits and its windows lost grow: the trend an operations lead looks for.

A snapshot at moment ``m`` holds exactly what happened before ``m``, rendered through the
real provider renderers and parsers, so its rows are what a pull at ``m`` returns. The
inbox's final state can be served by a :class:`~toolkit.sandbox.Sandbox`, so that a real
pull ends the history (what ``wa-toolkit demo`` does).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from .._schema import BOOLEAN
from ..providers import briq, wassist
from ._data import Conversation, make_channels, make_conversations, new_conversation
from ._render import briq_item, wassist_item

#: Share of a day's customer messages in each UTC hour: quiet nights, busy days.
_HOURLY_SHARE = [2, 1, 1, 1, 2, 4, 8, 14, 20, 24, 26, 26, 24, 24, 22, 20, 18, 16, 14, 12, 9, 7, 5, 3]
_WEEKEND_FACTOR = 0.55
_NEW_THREAD_SHARE = 0.2
#: Of the messages an agent picks up, the share only read (a "Thanks!" needs no answer).
_READ_ONLY_SHARE = 0.15
#: After a reply, the share of threads the agent closes as done.
_CLOSE_SHARE = 0.35
#: Share of new unread messages nobody sees for a while, and how long (hours).
_OVERLOOKED_SHARE, _OVERLOOKED_HOURS = 0.04, (6.0, 60.0)
_STEP = timedelta(minutes=5)
#: Unread older than this when the simulation starts counts as handled before it.
_SETTLED = timedelta(hours=6)
_WARM_UP_DAYS = 4
#: Marks a simulated snapshot in the pull record its files keep (see :func:`toolkit.load_snapshots`).
SIMULATED = "simulated"


@dataclass(frozen=True)
class HistoryConfig:
    """How the simulated history is shaped.

    Parameters
    ----------
    days : int
        Days with snapshots, the last one being the day of ``end``.
    snapshot_hours : tuple of int
        UTC hours of each day at which a snapshot is taken (a few minutes past).
    wassist_conversations, briq_conversations : int
        Threads each provider holds when the simulation starts (more open as it runs).
    channels : int
        Agents (Wassist) or senders (Briq) per provider.
    messages_per_thread_day : float
        Customer messages per day per existing thread, on an average weekday.
    staffing : float
        Each channel's answering capacity in business hours, relative to the share of a
        weekday's messages it receives (1.0 just keeps up on a weekday).
    seed : int
    end : datetime, optional
        When the history ends (default: now). Only snapshots taken before ``end`` are
        kept, so there are ``days`` of them per hour in ``snapshot_hours`` when ``end``
        is past the day's snapshot hours, one fewer otherwise.
    """

    days: int = 28
    snapshot_hours: tuple[int, ...] = (9,)
    wassist_conversations: int = 300
    briq_conversations: int = 400
    channels: int = 3
    messages_per_thread_day: float = 0.12
    staffing: float = 1.3
    seed: int = 7
    end: datetime | None = None


class SimulatedInbox:
    """Both providers' threads, evolving on a simulated clock.

    Iterate :meth:`snapshots` to run the simulation to ``config.end``; :attr:`threads`
    then holds the final state (what a :class:`~toolkit.sandbox.Sandbox` can serve).
    """

    def __init__(self, config: HistoryConfig | None = None) -> None:
        self.config = config = config or HistoryConfig()
        if config.days < 1:
            raise ValueError("days must be at least 1")
        if not config.snapshot_hours or any(not 0 <= hour <= 23 for hour in config.snapshot_hours):
            raise ValueError("snapshot_hours must be hours of the day, 0..23")
        self.end = _utc(config.end or datetime.now(UTC))
        self.moments = _snapshot_moments(config, self.end)
        last_day = _midnight(self.end)
        first_day = _midnight(self.moments[0]) if self.moments else last_day
        self.first_day = first_day
        self.start = first_day - timedelta(days=_WARM_UP_DAYS)
        self.now = self.start
        self._rng = random.Random(f"history:{config.seed}")
        self.threads: dict[str, list[Conversation]] = {
            "wassist": make_conversations("wassist", config.wassist_conversations, config.seed, self.start,
                                          channels=config.channels),
            "briq": make_conversations("briq", config.briq_conversations, config.seed, self.start,
                                       channels=config.channels),
        }
        floor = self.start - timedelta(days=365)
        for items in self.threads.values():
            for thread in items:
                # What waited more than a day when the simulation starts had been handled before it.
                handled_at = self.start - _SETTLED
                if thread.unread_count and thread.last_message_at and thread.last_message_at < handled_at:
                    thread.agent_reads(handled_at)
        self.channels: dict[str, list[tuple[str, str]]] = {}
        for provider, items in self.threads.items():
            items.sort(key=lambda c: c.last_message_at or floor)  # most recently active last
            named = sorted({(c.channel_id, c.channel_name) for c in items})
            # A provider that starts empty still has channels for the threads it will get.
            self.channels[provider] = named or make_channels(
                random.Random(f"{provider}:{config.seed}"), max(config.channels, 1), provider[0].upper())
        #: The channel of each provider that slips over the last third.
        self.slipping = {provider: names[0][0] for provider, names in self.channels.items() if names}
        # A weekday's messages per provider, spread over its channels, sets their capacity.
        self._daily_messages = {provider: config.messages_per_thread_day * max(len(items), 1)
                                for provider, items in self.threads.items()}
        self._hidden: dict[str, datetime] = {}  # overlooked thread id -> when someone notices
        # Unread threads per provider and channel: what the agents pick from.
        self._waiting: dict[tuple[str, str], dict[str, Conversation]] = {}
        for provider, items in self.threads.items():
            for thread in items:
                if thread.unread_count > 0:
                    self._waiting.setdefault((provider, thread.channel_id), {})[thread.id] = thread

    # -- running -------------------------------------------------------------------------

    def snapshots(self) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
        """Run to ``end``; yield ``(snapshot_at, frame)`` at every snapshot moment, oldest first."""
        for moment in self.moments:
            self.advance(moment)
            yield pd.Timestamp(moment), snapshot_frame(self.threads, moment)
        self.advance(self.end)

    def advance(self, until: datetime) -> None:
        """Let everything that happens before ``until`` happen."""
        while self.now < until:
            step_end = min(self.now + _STEP, until)
            self._step(self.now, step_end)
            self.now = step_end

    def _step(self, begin: datetime, end: datetime) -> None:
        """Customers write, then agents work; every event falls in ``[begin, end)``."""
        rng = self._rng
        hours = (end - begin) / timedelta(hours=1)
        weekday_factor = _WEEKEND_FACTOR if begin.weekday() >= 5 else 1.0
        share = _HOURLY_SHARE[begin.hour] / sum(_HOURLY_SHARE)
        for provider, items in self.threads.items():
            arrivals = _poisson(rng, self._daily_messages[provider] * share * weekday_factor * hours)
            for when in sorted(begin + (end - begin) * rng.random() for _ in range(arrivals)):
                self._customer_writes(provider, items, when)
            for channel, _ in self.channels[provider]:
                capacity = self._capacity(provider, channel, begin) * hours
                if capacity > 0:
                    self._agents_work(provider, channel, _poisson(rng, capacity), begin, end)

    def _customer_writes(self, provider: str, items: list[Conversation], when: datetime) -> None:
        rng = self._rng
        if rng.random() < _NEW_THREAD_SHARE or not items:
            thread = new_conversation(rng, provider, self.channels[provider], when)
            thread.extra["unread_since"] = when
            items.append(thread)
        else:
            # Recent threads are the likeliest to hear from their customer again; the one
            # that does moves to the end, where the next pick looks first.
            thread = items.pop(len(items) - 1 - min(int(rng.expovariate(1 / 150)), len(items) - 1))
            was_waiting = thread.unread_count > 0
            thread.customer_writes(when)
            items.append(thread)
            if was_waiting:
                return
        self._waiting.setdefault((provider, thread.channel_id), {})[thread.id] = thread
        if rng.random() < _OVERLOOKED_SHARE:
            self._hidden[thread.id] = when + timedelta(hours=rng.uniform(*_OVERLOOKED_HOURS))

    def _capacity(self, provider: str, channel: str, moment: datetime) -> float:
        """Replies per hour the channel can give at ``moment``."""
        weekday, hour = moment.weekday(), moment.hour
        if weekday < 5 and 8 <= hour < 18:
            on_duty = 1.0
        elif weekday == 5 and 9 <= hour < 13:
            on_duty = 0.5
        else:
            return 0.0
        per_channel = self._daily_messages[provider] / max(len(self.channels[provider]), 1)
        capacity = per_channel * self.config.staffing / 10 * on_duty  # a weekday's share in 10 hours
        if channel == self.slipping.get(provider):
            progress = (moment - self.first_day) / max(self.end - self.first_day, _STEP)
            if progress > 2 / 3:
                capacity *= max(0.1, 1.0 - 4.5 * (progress - 2 / 3))  # a tenth of it from 87 % on
        return capacity

    def _agents_work(self, provider: str, channel: str, replies: int,
                     begin: datetime, end: datetime) -> None:
        if replies <= 0:
            return
        rng = self._rng
        queue = self._waiting.get((provider, channel), {})
        waiting = [c for c in queue.values() if c.last_message_at is not None and c.last_message_at < end
                   and self._hidden.get(c.id, begin) <= begin]
        waiting.sort(key=_waiting_since)  # oldest first
        for thread in waiting[:replies]:
            assert thread.last_message_at is not None
            earliest = max(begin, thread.last_message_at)  # no answer before the message
            when = earliest + (end - earliest) * rng.random()
            self._hidden.pop(thread.id, None)
            del queue[thread.id]
            if thread.last_body == "Thanks!" or rng.random() < _READ_ONLY_SHARE:
                thread.agent_reads(when)
                thread.close()
            else:
                thread.agent_replies(when)
                if rng.random() < _CLOSE_SHARE:
                    thread.close()


def simulate_history(config: HistoryConfig | None = None) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """Yield ``(snapshot_at, frame)`` for every snapshot of the simulated history, oldest first.

    Each frame is in the unified schema, both providers together, as
    :func:`toolkit.load_conversations` would return it at that moment, and its
    ``attrs["pulls"]`` records mark it as simulated.
    """
    return SimulatedInbox(config).snapshots()


def write_history(root: str | os.PathLike, config: HistoryConfig | None = None) -> list[Path]:
    """Simulate a history (see :class:`HistoryConfig`) and save every snapshot under ``root``.

    Returns the files written; read them with :func:`toolkit.load_snapshots`.
    """
    from ..history import save_snapshot

    written: list[Path] = []
    for moment, frame in simulate_history(config):
        written += save_snapshot(frame, root, snapshot_at=moment)
    return written


def snapshot_frame(threads: dict[str, list[Conversation]], moment: datetime) -> pd.DataFrame:
    """What a pull of both providers at ``moment`` returns, through the real parsers."""
    fetched_at = pd.Timestamp(moment)
    frames = []
    for provider, items in threads.items():
        if provider == "wassist":
            items_json = [wassist_item(c, moment, documented=False) for c in items]
            frame = wassist.parse_conversations(items_json, fetched_at)
            # What the loader's second pass (hasUnread=true) tells.
            frame["has_unread"] = pd.array([c.unread_count > 0 for c in items], dtype=BOOLEAN)
        else:
            frame = briq.parse_conversations([briq_item(c, moment) for c in items], fetched_at)
        frames.append(frame)
    combined = pd.concat(frames, ignore_index=True)
    combined = combined.sort_values(["provider", "last_message_at"], ascending=[True, False], kind="stable")
    combined = combined.reset_index(drop=True)
    combined.attrs = {"pulls": {
        provider: {"provider": provider, "source": "simulated history", SIMULATED: True, "rows": len(items)}
        for provider, items in threads.items()}}
    return combined


def _snapshot_moments(config: HistoryConfig, end: datetime) -> list[datetime]:
    """The last ``days`` days' snapshot times before ``end``, each a few minutes past its hour."""
    moments = []
    last_day = end.replace(hour=0, minute=0, second=0, microsecond=0)
    for back in range(config.days + 1, -1, -1):
        day = last_day - timedelta(days=back)
        for hour in sorted(set(config.snapshot_hours)):
            jitter = random.Random(f"snapshot:{config.seed}:{day:%Y%m%d}:{hour}")
            moment = day + timedelta(hours=hour, minutes=jitter.randint(0, 9), seconds=jitter.randint(0, 59))
            if moment < end:
                moments.append(moment)
    first = (last_day - timedelta(days=config.days - 1)) if config.end is not None else None
    if first is not None:
        return [moment for moment in moments if moment >= first]
    # Without a set end, keep ``days`` full days of snapshots ending with the latest taken.
    return moments[-config.days * len(set(config.snapshot_hours)):]


def _waiting_since(thread: Conversation) -> datetime:
    since = thread.extra.get("unread_since") or thread.last_message_at
    assert since is not None
    return since


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _poisson(rng: random.Random, rate: float) -> int:
    """A Poisson draw (Knuth's method; rates here are small)."""
    if rate <= 0:
        return 0
    threshold, count, product = math.exp(-rate), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count
