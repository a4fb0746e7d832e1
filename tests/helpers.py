"""What several test modules use: fast retries and loaders pointed at a sandbox."""

from __future__ import annotations

import pandas as pd

import toolkit as tk
from toolkit.sandbox import Sandbox

# Fast backoff keeps fault-heavy tests short; the attempts stay generous.
FAST_RETRY = tk.RetryPolicy(max_attempts=12, backoff_base=0.005, backoff_max=0.05)


def wassist(sandbox: Sandbox, **kwargs) -> pd.DataFrame:
    """``tk.load_wassist`` on ``sandbox``: its key, fast retries, no progress bar unless asked."""
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("progress", False)
    return tk.load_wassist(sandbox.config.wassist_key, sandbox.base_url, **kwargs)


def briq(sandbox: Sandbox, **kwargs) -> pd.DataFrame:
    """``tk.load_briq`` on ``sandbox``: its key, fast retries, no progress bar unless asked."""
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("progress", False)
    return tk.load_briq(sandbox.config.briq_key, sandbox.base_url, **kwargs)
