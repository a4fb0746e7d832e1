"""A canary key runs through every public path and is found nowhere."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import toolkit as tk
from toolkit._http import HttpClient

from .helpers import FAST_RETRY

CANARY = "sk-CANARY-7f3a9c2e-dont-leak-me"


def test_canary_key_never_appears_anywhere(make_sandbox, tmp_path, caplog, capsys):
    sandbox = make_sandbox(wassist_key=CANARY, briq_key=CANARY, fault_rate=0.3, wassist_conversations=300,
                           briq_conversations=300)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = [
            tk.load_wassist(CANARY, sandbox.base_url, progress=True, retry=FAST_RETRY, rate_limit=None),
            tk.load_briq(CANARY, sandbox.base_url, progress=True, retry=FAST_RETRY),
        ]
        # Errors: a refused key, exhausted retries, and a server that echoes the key back.
        sandbox.configure(fault_rate=0.0)
        sandbox.force("503", "503")
        with pytest.raises(tk.ApiError) as exhausted:
            tk.load_briq(CANARY, sandbox.base_url, progress=True, max_workers=1,
                         retry=tk.RetryPolicy(max_attempts=2, backoff_base=0))
        texts += [str(exhausted.value), repr(exhausted.value)]
        sandbox.configure(briq_key="another-key")
        with pytest.raises(tk.AuthenticationError) as refused:
            tk.load_briq(CANARY, sandbox.base_url, progress=True, retry=FAST_RETRY)
        texts += [str(refused.value), repr(refused.value), repr(refused.value.__dict__)]
    texts += [repr(frame.attrs) for frame in frames]
    texts += [str(warning.message) for warning in caught]
    texts.append(repr(HttpClient("briq", sandbox.base_url, CANARY)))
    csv_path = tk.to_csv(frames[1], tmp_path / "out.csv")
    report_path = tk.write_report(frames[0], tmp_path / "report.html")
    texts += [csv_path.read_text(encoding="utf-8-sig"), report_path.read_text()]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    assert "retry" in caplog.text, "DEBUG logging really ran"
    assert "page" in captured.err, "progress bars really ran"
    for text in texts:
        assert CANARY not in text


def test_a_server_echoing_the_key_has_it_masked(sandbox):
    from toolkit._redact import redact, register_secret
    from toolkit.providers.briq import BRIQ

    register_secret(CANARY)
    codes, messages = BRIQ.error_texts({"detail": f"bad key {CANARY}"})
    assert CANARY not in redact(messages[0])
    assert "X-API-Key: ***" in redact(f"X-API-Key: {CANARY}x")


def test_cli_error_output_never_holds_the_key(sandbox, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WASSIST_", "BRIQ_"))}
    env.update({"WASSIST_API_KEY": CANARY, "WASSIST_BASE_URL": sandbox.base_url,
                "BRIQ_API_KEY": CANARY, "BRIQ_BASE_URL": sandbox.base_url})
    result = subprocess.run([sys.executable, "-m", "toolkit", "report", "--out", str(tmp_path), "--progress"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert CANARY not in result.stdout + result.stderr
    assert not any(CANARY in path.read_text(errors="replace") for path in Path(tmp_path).glob("*"))


def test_plain_http_to_a_remote_host_warns():
    with pytest.warns(RuntimeWarning, match="plain http"):
        HttpClient("briq", "http://example.org", "k" * 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HttpClient("briq", "http://127.0.0.1:9", "k" * 12)
