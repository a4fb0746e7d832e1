"""Shared fixtures: sandboxes on loopback, fast retry policies, a clean environment."""

from __future__ import annotations

import pytest

from toolkit.sandbox import Sandbox, SandboxConfig

ENV_NAMES = ("WASSIST_API_KEY", "WASSIST_BASE_URL", "BRIQ_API_KEY", "BRIQ_BASE_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees keys or base URLs from the machine it runs on."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


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
