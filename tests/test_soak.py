"""Soak: 50 pulls of thousands of conversations through 25% faults and live churn.

Left out of the default suite (about a minute on two cores); run it with::

    .venv/bin/python -m pytest -m soak -n 2
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import toolkit as tk

from .helpers import FAST_RETRY

ALL_FAULTS = ("429", "429-body", "429-bare", "500", "502", "503", "reset", "truncate", "truncate-short",
              "stall")


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(50))
def test_pull_through_faults_and_churn_is_exact(make_sandbox, seed):
    sandbox = make_sandbox(seed=seed, briq_conversations=2500, wassist_conversations=2500, fault_rate=0.25,
                           fault_kinds=ALL_FAULTS, stall_seconds=0.6, churn_rate=1.0)
    provider = "briq" if seed % 2 else "wassist"
    present = {c.id for c in sandbox.conversations[provider]}
    options = dict(api_key=getattr(sandbox.config, f"{provider}_key"), base_url=sandbox.base_url,
                   progress=False, retry=FAST_RETRY, timeout=0.4, page_size=100)
    if provider == "wassist":
        options["rate_limit"] = None
    load = tk.load_briq if provider == "briq" else tk.load_wassist
    everything = load(**options)
    assert everything["conversation_id"].is_unique
    assert present <= set(everything["conversation_id"])
    status = {"status": "open"} if provider == "briq" else {"status": "active"}
    with sandbox.lock:
        events_before = len(sandbox.events)
        open_at_start = {c.id for c in sandbox.conversations[provider] if c.window_open(datetime.now(UTC))}
    narrowed = load(**options, **status)
    closed = {cid for kind, _, cid, _ in sandbox.events[events_before:] if kind == "close"}
    stayed = {cid for cid in open_at_start if cid not in closed}
    stayed &= {c.id for c in sandbox.conversations[provider] if c.window_open(datetime.now(UTC))}
    assert narrowed["conversation_id"].is_unique
    assert stayed <= set(narrowed["conversation_id"])
    faults = [r.fault for r in sandbox.list_requests() if r.fault]
    assert len(faults) >= 5
