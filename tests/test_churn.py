"""Completeness under live traffic: rows move, close and appear while the pull runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from .helpers import briq, wassist


@pytest.mark.parametrize("seed", [1, 2])
def test_every_conversation_that_stayed_is_returned_once_with_its_latest_values(make_sandbox, seed):
    sandbox = make_sandbox(seed=seed, briq_conversations=1500, wassist_conversations=1500, churn_rate=3.0)
    present = {provider: {c.id for c in items} for provider, items in sandbox.conversations.items()}
    started = pd.Timestamp.now(tz="UTC")
    left = briq(sandbox, page_size=50)
    events_during_briq = list(sandbox.events)
    right = wassist(sandbox, page_size=50, rate_limit=None)
    assert left["conversation_id"].is_unique and right["conversation_id"].is_unique
    # status=all lists never lose a row, so every conversation present at the start stayed.
    assert present["briq"] <= set(left["conversation_id"])
    assert present["wassist"] <= set(right["conversation_id"])
    # A conversation that got a new message before the last re-read of the top of the list
    # comes with that message (timestamps travel with whole seconds at the least).
    passes = left.attrs["pull"]["passes"]
    last_sweep = max(pd.Timestamp(report["started_at"]) for name, report in passes.items() if "sweep" in name)
    moved = {cid for kind, provider, cid, at in events_during_briq
             if kind == "message" and provider == "briq" and at < last_sweep}
    assert moved, "the churn really moved conversations"
    latest = left.set_index("conversation_id").loc[sorted(moved & present["briq"]), "last_message_at"]
    assert (latest >= started.floor("s")).all()
    assert passes["conversations"]["total_max"] > passes["conversations"]["total_first"]


def test_filtered_list_keeps_every_conversation_that_stayed_in_it(make_sandbox):
    sandbox = make_sandbox(seed=5, briq_conversations=2000, churn_rate=3.0)
    open_at_start = {c.id for c in sandbox.conversations["briq"] if c.window_open(datetime.now(UTC))}
    frame = briq(sandbox, status="open", page_size=40)
    finished = datetime.now(UTC)
    closed = {cid for kind, _, cid, _ in sandbox.events if kind == "close"}
    assert closed, "the churn really closed conversations"
    # A window that reached its 24 hours while the pages were read left the list as rightly
    # as a closed one: only conversations still open when the pull ended must be there.
    still_open = {c.id for c in sandbox.conversations["briq"] if c.window_open(finished)}
    stayed = (open_at_start & still_open) - closed
    assert len(stayed) > len(open_at_start) // 2, "most open windows outlast the pull"
    assert stayed <= set(frame["conversation_id"])
    assert frame["conversation_id"].is_unique


def test_a_still_inbox_needs_no_repair(make_sandbox):
    sandbox = make_sandbox(briq_conversations=800)
    frame = briq(sandbox, page_size=50)
    report = frame.attrs["pull"]["passes"]["conversations"]
    assert report["pages_refetched"] == 0
    assert report["overlap"] == 1  # nothing left the list: the pages kept the lean overlap
