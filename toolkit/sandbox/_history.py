"""A backlog that evolves over days, as daily snapshots: trends to look at without keys.

The simulation runs hour by hour on a seeded clock. Customers write more on weekdays and
in the daytime; some messages open new threads. Each channel answers up to its hourly
capacity, unread threads first, oldest first. One channel slips: over the last third of
the period its capacity falls, so its unread pile and its windows closing unanswered grow,
the kind of trend an operations lead looks for. Every snapshot goes through the real
provider renderers and parsers, so its rows are exactly what a pull at that hour returns.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from .._schema import BOOLEAN
from ..providers import briq, wassist
from ._data import Conversation, make_conversations, new_conversation
from ._render import briq_item, wassist_item

# Messages per hour, across both providers, by hour of the day (UTC): quiet nights, busy days.
_HOURLY_INBOUND = [2, 1, 1, 1, 2, 4, 8, 14, 20, 24, 26, 26, 24, 24, 22, 20, 18, 16, 14, 12, 9, 7, 5, 3]
_WEEKEND_FACTOR = 0.55
_NEW_THREAD_SHARE = 0.25
_WARM_UP_DAYS = 3


@dataclass(frozen=True)
class HistoryConfig:
    """How the simulated history is shaped.

    Parameters
    ----------
    days : int
        Days of history, ending at ``end``.
    snapshot_hours : tuple of int
        UTC hours of each day at which a snapshot is taken.
    wassist_conversations, briq_conversations : int
        Threads each provider holds when the history starts (more open as it runs).
    channels : int
        Agents (Wassist) or senders (Briq) per provider.
    replies_per_channel_hour : float
        How many unread threads a channel answers per daytime hour.
    seed : int
    end : datetime, optional
        The last day of the history (default: the latest day whose snapshot time has
        passed, so there are always ``days`` snapshots per hour in ``snapshot_hours``).
    """

    days: int = 28
    snapshot_hours: tuple[int, ...] = (9,)
    wassist_conversations: int = 300
    briq_conversations: int = 400
    channels: int = 3
    replies_per_channel_hour: float = 2.8
    seed: int = 7
    end: datetime | None = None


def simulate_history(config: HistoryConfig | None = None) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """Yield ``(snapshot_at, frame)`` for every snapshot of the simulated history, oldest first.

    Each frame is in the unified schema, both providers together, as
    :func:`toolkit.load_conversations` would return it at that moment.
    """
    config = config or HistoryConfig()
    if config.days < 1:
        raise ValueError("days must be at least 1")
    latest = (config.end or datetime.now(UTC)).astimezone(UTC)
    end_day = latest.replace(hour=0, minute=0, second=0, microsecond=0)
    if config.end is None and latest < end_day + timedelta(hours=min(config.snapshot_hours), minutes=10):
        end_day -= timedelta(days=1)  # today's snapshot is not taken yet: end with yesterday's
    first_day = end_day - timedelta(days=config.days - 1)
    # A few days run before the first snapshot, so it shows a settled backlog.
    start = first_day - timedelta(days=_WARM_UP_DAYS)
    rng = random.Random(f"history:{config.seed}")
    threads = {
        "wassist": make_conversations("wassist", config.wassist_conversations, config.seed, start,
                                      channels=config.channels),
        "briq": make_conversations("briq", config.briq_conversations, config.seed, start,
                                   channels=config.channels),
    }
    floor = start - timedelta(days=365)
    for items in threads.values():
        items.sort(key=lambda c: c.last_message_at or floor)  # most recently active last
    channels = {provider: sorted({(c.channel_id, c.channel_name) for c in items})
                for provider, items in threads.items()}
    slipping = {provider: names[0][0] for provider, names in channels.items()}
    hours = (config.days + _WARM_UP_DAYS) * 24
    for hour in range(hours):
        now = start + timedelta(hours=hour)
        _customers_write(rng, threads, channels, now)
        progress = (now - first_day) / (end_day + timedelta(days=1) - first_day)
        for provider, items in threads.items():
            _agents_answer(rng, items, now, config, slipping[provider], progress=progress)
        if now >= first_day and now.hour in config.snapshot_hours:
            moment = now + timedelta(minutes=rng.randint(0, 9), seconds=rng.randint(0, 59))
            if config.end is None and moment > latest:
                return  # no snapshot from the future
            yield pd.Timestamp(moment), snapshot_frame(threads, moment)


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
            frame = wassist.parse_conversations([wassist_item(c, moment, documented=False) for c in items],
                                                fetched_at)
            # What the loader's second pass (hasUnread=true) tells.
            frame["has_unread"] = pd.array([c.unread_count > 0 for c in items], dtype=BOOLEAN)
        else:
            frame = briq.parse_conversations([briq_item(c, moment) for c in items], fetched_at)
        frames.append(frame)
    combined = pd.concat(frames, ignore_index=True)
    combined = combined.sort_values(["provider", "last_message_at"], ascending=[True, False], kind="stable")
    combined = combined.reset_index(drop=True)
    combined.attrs = {"pulls": {provider: {"provider": provider, "source": "simulated history",
                                           "rows": len(items)} for provider, items in threads.items()}}
    return combined


def _customers_write(rng: random.Random, threads: dict[str, list[Conversation]],
                     channels: dict[str, list[tuple[str, str]]], now: datetime) -> None:
    rate = _HOURLY_INBOUND[now.hour] * (_WEEKEND_FACTOR if now.weekday() >= 5 else 1.0)
    for _ in range(_poisson(rng, rate)):
        provider = "briq" if rng.random() < 0.55 else "wassist"
        items = threads[provider]
        when = now + timedelta(minutes=rng.uniform(0, 59))
        if rng.random() < _NEW_THREAD_SHARE or not items:
            items.append(new_conversation(rng, provider, channels[provider], when))
            continue
        # Recent threads are the likeliest to hear from their customer again; the one that
        # does moves to the end, where the next pick looks first.
        target = items.pop(len(items) - 1 - min(int(rng.expovariate(1 / 120)), len(items) - 1))
        target.last_message_at = target.last_inbound_at = when
        target.last_role = "user"
        target.unread_count += 1
        target.is_active = True
        items.append(target)


def _agents_answer(rng: random.Random, items: list[Conversation], now: datetime, config: HistoryConfig,
                   slipping: str, progress: float) -> None:
    daytime = 7 <= now.hour < 20
    capacity = config.replies_per_channel_hour * (1.0 if daytime else 0.35)
    waiting: dict[str, list[Conversation]] = {}
    for conversation in items:
        if conversation.unread_count > 0:
            waiting.setdefault(conversation.channel_id, []).append(conversation)
    for channel, queue in waiting.items():
        share = 1.0
        if channel == slipping and progress > 2 / 3:
            # The slipping channel loses most of its capacity over the last third.
            share = max(0.1, 1.0 - 2.7 * (progress - 2 / 3))
        answers = _poisson(rng, capacity * share)
        queue.sort(key=lambda c: c.last_message_at or now)
        for conversation in queue[:answers]:
            conversation.unread_count = 0
            conversation.last_role = "assistant"
            conversation.last_message_at = now + timedelta(minutes=rng.uniform(0, 59))


def _poisson(rng: random.Random, rate: float) -> int:
    """A Poisson draw (Knuth's method; rates here are small)."""
    if rate <= 0:
        return 0
    threshold, count, product = pow(2.718281828459045, -rate), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count
