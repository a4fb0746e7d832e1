"""Jupyter/pandas analytics for WhatsApp conversation backlogs on Wassist and Briq.

>>> import toolkit as tk
>>> df = tk.load_conversations()        # doctest: +SKIP
>>> tk.unread_summary(df)               # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Errors are light (no pandas) and are caught by name, so they load at once; everything
# else loads on first use (see _LAZY), so ``import toolkit`` does not pay for pandas,
# pyarrow and requests before a notebook asks for anything.
from ._errors import (
    ApiError,
    AuthenticationError,
    DataQualityWarning,
    PaginationError,
    PullTimeoutError,
    ResponseFormatError,
    SnapshotError,
    ToolkitError,
)

if TYPE_CHECKING:  # what type checkers and editors see; at run time these load lazily
    from ._http import RateLimit, RetryPolicy
    from ._refresh import refresh
    from ._schema import SCHEMA, conform, empty_frame
    from .channels import name_channels, read_channel_names
    from .checks import check_conversations
    from .display import readable
    from .excel import to_excel
    from .export import read_csv, to_csv
    from .history import load_snapshots, query_snapshots, save_snapshot, snapshot_files
    from .metrics import (
        BUCKETS,
        at_risk,
        closed_with_unread,
        closing_share,
        expiry_summary,
        expiry_timeline,
        takeover_backlog,
        unread_summary,
        unread_wait,
        wait_percentiles,
        window_bucket,
        window_remaining,
    )
    from .providers import load_briq, load_conversations, load_wassist
    from .trends import closed_unread_by_day, persistent_unread, unread_trend, wait_trend

__version__ = "0.1.0"

__all__ = [
    # loading
    "load_wassist",
    "load_briq",
    "load_conversations",
    "refresh",
    "RetryPolicy",
    "RateLimit",
    # the unified schema
    "SCHEMA",
    "conform",
    "empty_frame",
    # metrics
    "BUCKETS",
    "window_remaining",
    "window_bucket",
    "unread_summary",
    "expiry_summary",
    "at_risk",
    "expiry_timeline",
    "unread_wait",
    "wait_percentiles",
    "closed_with_unread",
    "closing_share",
    "takeover_backlog",
    "check_conversations",
    "readable",
    # files and history
    "to_csv",
    "read_csv",
    "to_excel",
    "name_channels",
    "read_channel_names",
    "save_snapshot",
    "load_snapshots",
    "snapshot_files",
    "query_snapshots",
    "unread_trend",
    "closed_unread_by_day",
    "wait_trend",
    "persistent_unread",
    # charts and the report (loaded on first use, see _LAZY)
    "plot_unread_backlog",
    "plot_expiry_buckets",
    "plot_expiry_timeline",
    "plot_unread_wait",
    "plot_at_risk",
    "plot_unread_trend",
    "plot_closed_unread",
    "plot_wait_trend",
    "build_report",
    "write_report",
    # errors and warnings
    "ToolkitError",
    "ApiError",
    "AuthenticationError",
    "ResponseFormatError",
    "PaginationError",
    "PullTimeoutError",
    "SnapshotError",
    "DataQualityWarning",
]

# Where each name lives; loaded on first use, not on ``import toolkit`` (charts would pull in
# matplotlib's pyplot, loaders requests, everything pandas).
_LAZY = {
    **dict.fromkeys(["RateLimit", "RetryPolicy"], "_http"),
    **dict.fromkeys(["SCHEMA", "conform", "empty_frame"], "_schema"),
    **dict.fromkeys(["name_channels", "read_channel_names"], "channels"),
    "check_conversations": "checks",
    "readable": "display",
    "to_excel": "excel",
    **dict.fromkeys(["read_csv", "to_csv"], "export"),
    **dict.fromkeys(["load_snapshots", "query_snapshots", "save_snapshot", "snapshot_files"], "history"),
    **dict.fromkeys(["BUCKETS", "at_risk", "closed_with_unread", "closing_share", "expiry_summary",
                     "expiry_timeline", "takeover_backlog", "unread_summary", "unread_wait",
                     "wait_percentiles", "window_bucket", "window_remaining"], "metrics"),
    **dict.fromkeys(["load_briq", "load_conversations", "load_wassist"], "providers"),
    "refresh": "_refresh",
    **dict.fromkeys(["closed_unread_by_day", "persistent_unread", "unread_trend", "wait_trend"], "trends"),
    **dict.fromkeys(["plot_unread_backlog", "plot_expiry_buckets", "plot_expiry_timeline", "plot_unread_wait",
                     "plot_at_risk", "plot_unread_trend", "plot_closed_unread", "plot_wait_trend"], "plots"),
    **dict.fromkeys(["build_report", "write_report"], "report"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later uses are plain attribute reads
        return value
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    # Tab completion lists the lazily loaded names too, before they are first used.
    return sorted(set(globals()) | set(_LAZY))
