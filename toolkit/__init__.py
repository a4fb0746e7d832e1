"""Jupyter/pandas analytics for WhatsApp conversation backlogs on Wassist and Briq.

>>> import toolkit as tk
>>> df = tk.load_conversations()        # doctest: +SKIP
>>> tk.unread_summary(df)               # doctest: +SKIP
"""

from __future__ import annotations

from . import metrics as _metrics
from ._errors import (
    ApiError,
    AuthenticationError,
    DataQualityWarning,
    PaginationError,
    ResponseFormatError,
    ToolkitError,
)
from ._http import RateLimit, RetryPolicy
from ._schema import SCHEMA, conform, empty_frame
from .checks import check_conversations
from .export import read_csv, to_csv
from .history import SnapshotError, load_snapshots, query_snapshots, save_snapshot, snapshot_files
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
    "load_wassist",
    "load_briq",
    "load_conversations",
    "SCHEMA",
    "conform",
    "empty_frame",
    *_metrics.__all__,
    "check_conversations",
    "to_csv",
    "read_csv",
    "save_snapshot",
    "load_snapshots",
    "snapshot_files",
    "query_snapshots",
    "unread_trend",
    "closed_unread_by_day",
    "wait_trend",
    "persistent_unread",
    "RetryPolicy",
    "RateLimit",
    "ToolkitError",
    "ApiError",
    "AuthenticationError",
    "ResponseFormatError",
    "PaginationError",
    "DataQualityWarning",
    "SnapshotError",
]

_LAZY = {
    "plot_unread_backlog": "plots",
    "plot_expiry_buckets": "plots",
    "plot_expiry_timeline": "plots",
    "plot_unread_wait": "plots",
    "plot_at_risk": "plots",
    "plot_unread_trend": "plots",
    "plot_closed_unread": "plots",
    "plot_wait_trend": "plots",
    "build_report": "report",
    "write_report": "report",
}
__all__ += list(_LAZY)


def __getattr__(name: str):
    # Charts load matplotlib's pyplot only when first asked for, not on ``import toolkit``.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
