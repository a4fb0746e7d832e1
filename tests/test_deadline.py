"""A pull ends by its deadline whatever the server does: stalls, slow answers, long waits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import toolkit as tk

from .helpers import briq, wassist

# Every request is held far longer than any test may run; each request's own timeout
# (5 s) is longer than the deadlines below, so only the deadline can end these pulls.
STALLING = dict(fault_rate=1.0, fault_kinds=("stall",), stall_seconds=120.0)


@pytest.fixture
def stalling(make_sandbox):
    return make_sandbox(briq_conversations=500, wassist_conversations=500, **STALLING)


@pytest.mark.parametrize("load", [briq, wassist], ids=["briq", "wassist"])
def test_a_server_stalling_past_every_timeout_ends_the_pull_at_its_deadline(stalling, load):
    with pytest.raises(tk.PullTimeoutError, match="deadline of 1 s") as caught:
        load(stalling, timeout=5.0, deadline=1.0)
    assert caught.value.deadline == 1.0 and caught.value.provider in ("briq", "wassist")
    assert isinstance(caught.value, tk.ToolkitError)
    assert stalling.config.briq_key not in str(caught.value)


def test_a_pull_that_would_wait_for_its_request_budget_past_the_deadline_ends_at_it(sandbox):
    # One request a minute: the second page would wait a minute for its turn.
    with pytest.raises(tk.PullTimeoutError):
        wassist(sandbox, page_size=20, rate_limit=tk.RateLimit(1, 60.0), deadline=1.0)


def test_a_long_retry_after_is_not_waited_out_past_the_deadline(make_sandbox):
    # The server asks for 30 s; without the deadline the pull would wait it out, attempt after attempt
    # (with the sandbox's default Retry-After of 0, fast retries could exhaust the attempts first).
    sandbox = make_sandbox(fault_rate=1.0, fault_kinds=("429",), retry_after=30.0)
    with pytest.raises(tk.PullTimeoutError):
        briq(sandbox, deadline=0.5, retry=tk.RetryPolicy(max_attempts=50, backoff_base=30, backoff_max=30))


def test_a_pull_within_its_deadline_is_whole(sandbox):
    assert len(briq(sandbox, deadline=120)) == 260
    assert len(briq(sandbox, deadline=None)) == 260


@pytest.mark.parametrize("deadline", [0, -1, "60", True, float("nan")])
def test_a_deadline_that_is_not_positive_seconds_is_refused_before_any_request(sandbox, deadline):
    with pytest.raises(ValueError, match="deadline"):
        briq(sandbox, deadline=deadline)
    assert sandbox.list_requests() == []


def test_the_command_line_deadline_ends_a_stalled_export_with_one_line_and_no_file(stalling, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WASSIST_", "BRIQ_"))}
    environment.update(stalling.environment())
    out = tmp_path / "rep.csv"
    argv = [sys.executable, "-m", "toolkit", "export", "--provider", "briq", "--deadline", "1",
            "--no-progress", "--out", str(out)]
    result = subprocess.run(argv, capture_output=True, text=True, env=environment, timeout=120, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "deadline of 1 s" in result.stderr
    assert not out.exists()
