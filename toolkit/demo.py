"""The demo's orchestration: a seeded sandbox pulled through the real loaders, then the outputs.

``wa-toolkit demo`` and ``wa-toolkit sample`` run this; it starts and stops its own sandbox
on 127.0.0.1, so it needs no keys and no network.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["pull_sandbox", "run_demo"]


def pull_sandbox(seed: int = 7, fault_rate: float = 0.0, progress: bool | None = None) -> pd.DataFrame:
    """Every conversation of a fresh seeded sandbox, pulled through the real loaders."""
    from .providers import load_conversations
    from .sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(seed=seed, fault_rate=fault_rate)
    with Sandbox(config) as sandbox:
        return load_conversations({
            # The sandbox keeps no request budget, so the client needs none either.
            "wassist": {"api_key": config.wassist_key, "base_url": sandbox.base_url, "progress": progress,
                        "rate_limit": None},
            "briq": {"api_key": config.briq_key, "base_url": sandbox.base_url, "progress": progress},
        })


def run_demo(out: Path, seed: int = 7, fault_rate: float = 0.0,
             progress: bool | None = None) -> tuple[pd.DataFrame, Path, Path]:
    """Pull the sandbox through the real loaders and write the CSV and the report.

    Also writes a simulated four-week history under ``out/history`` (once) for the
    report's trends section.

    Returns
    -------
    (frame, csv_path, report_path)
        The pulled conversations and the two files written.
    """
    from . import export, report
    from .history import load_snapshots
    from .sandbox import HistoryConfig, write_history

    combined = pull_sandbox(seed, fault_rate, progress)
    out.mkdir(exist_ok=True)
    csv_path = export.to_csv(combined, out / "conversations.csv")
    # Four weeks of simulated daily snapshots, so the report shows trends as well.
    history_root = out / "history"
    if not history_root.exists():
        write_history(history_root, HistoryConfig(seed=seed))
    report_path = report.write_report(combined, out / "report.html", source="built-in sandbox",
                                      title="WhatsApp backlog report (sandbox demo)",
                                      history=load_snapshots(history_root))
    return combined, csv_path, report_path
