"""Shared fixtures: sandboxes on loopback, fast retry policies, a clean environment."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from toolkit.sandbox import Sandbox, SandboxConfig

# In CI the property tests draw the same examples on every run (a clean checkout has no
# example database), so that a failure there can be run again as it was; locally they
# explore anew each time. print_blob says how to replay a failure either way.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("local", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "local")

ENV_NAMES = ("WASSIST_API_KEY", "WASSIST_BASE_URL", "BRIQ_API_KEY", "BRIQ_BASE_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees keys or base URLs from the machine it runs on."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def unused_request_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with every client-side request budget unused. The budgets are kept
    per key for the life of the process (toolkit._http), so one test's hundred Wassist
    requests would otherwise make whichever test a worker runs next wait up to a minute."""
    from toolkit import _http

    monkeypatch.setattr(_http, "_pacers", {})


@pytest.fixture
def make_sandbox():
    """Start sandboxes with the given config fields; all are stopped after the test."""
    started: list[Sandbox] = []

    def factory(**fields) -> Sandbox:
        fields.setdefault("wassist_conversations", 230)
        fields.setdefault("briq_conversations", 260)
        sandbox = Sandbox(SandboxConfig(**fields)).start()
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox) -> Sandbox:
    return make_sandbox()
