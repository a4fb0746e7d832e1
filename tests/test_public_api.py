"""The public surface is pinned: a change to it is a deliberate change to this list and the README."""

import re
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")

# Every public name, one a line. A new public name is one more line here, and its
# description in the README.
DOCUMENTED = """
load_wassist
load_briq
load_conversations
refresh
RetryPolicy
RateLimit
SCHEMA
conform
empty_frame
BUCKETS
window_remaining
window_bucket
unread_summary
expiry_summary
at_risk
expiry_timeline
unread_wait
wait_percentiles
closed_with_unread
closing_share
takeover_backlog
check_conversations
readable
to_csv
read_csv
to_excel
name_channels
read_channel_names
save_snapshot
load_snapshots
snapshot_files
query_snapshots
unread_trend
closed_unread_by_day
wait_trend
persistent_unread
plot_unread_backlog
plot_expiry_buckets
plot_expiry_timeline
plot_unread_wait
plot_at_risk
plot_unread_trend
plot_closed_unread
plot_wait_trend
build_report
write_report
ToolkitError
ApiError
AuthenticationError
ResponseFormatError
PaginationError
PullTimeoutError
SnapshotError
DataQualityWarning
""".split()

# The names the public contract fixes (a subset of the above).
CONTRACT_NAMES = {
    "load_wassist", "load_briq", "load_conversations", "SCHEMA", "ToolkitError", "ApiError",
    "AuthenticationError", "ResponseFormatError", "window_remaining", "window_bucket", "unread_summary",
    "expiry_summary", "at_risk", "expiry_timeline", "to_csv", "read_csv", "refresh",
}


def test_all_is_exactly_the_documented_names():
    assert len(tk.__all__) == len(set(tk.__all__)), "a name is exported twice"
    assert set(tk.__all__) == set(DOCUMENTED)
    assert CONTRACT_NAMES <= set(DOCUMENTED)


def test_every_public_name_exists_and_is_described_in_the_readme():
    for name in DOCUMENTED:
        assert hasattr(tk, name), name
        # Written as `name`, `name(...)`, tk.name, or as a branch of the README's error tree.
        assert re.search(rf"(`|tk\.|── ){re.escape(name)}\b", README), f"{name} is not in the README"


def test_tab_completion_lists_the_names_loaded_on_first_use():
    listed = dir(tk)
    assert set(DOCUMENTED) <= set(listed)
    assert {"plot_unread_backlog", "write_report"} <= set(listed)


def test_error_tree():
    assert issubclass(tk.ApiError, tk.ToolkitError)
    assert issubclass(tk.AuthenticationError, tk.ApiError)
    assert issubclass(tk.ResponseFormatError, tk.ToolkitError)
    assert issubclass(tk.PaginationError, tk.ToolkitError)
    assert issubclass(tk.SnapshotError, tk.ToolkitError)
    assert issubclass(tk.PullTimeoutError, tk.ToolkitError)
    assert not issubclass(tk.ResponseFormatError, tk.ApiError)
    assert tk.SnapshotError.__module__ == "toolkit._errors"


def test_schema_columns_in_contract_order():
    assert list(tk.SCHEMA) == [
        "provider", "conversation_id", "contact_phone", "contact_name", "channel_id", "is_active",
        "is_human_takeover", "has_unread", "unread_count", "last_message_at", "window_open",
        "window_expires_at", "fetched_at",
    ]


def test_conform_reads_text_as_each_column_reads_and_names_what_it_cannot():
    frame = tk.conform(pd.DataFrame({"has_unread": ["true", " No", "1", None],
                                     "unread_count": ["3", None, "0", "12"],
                                     "provider": ["briq", "wassist", "whatsapp", None]}))
    assert frame["has_unread"].tolist() == [True, False, True, pd.NA]
    assert frame["unread_count"].tolist() == [3, pd.NA, 0, 12]
    assert frame["provider"].tolist()[:2] == ["briq", "wassist"] and frame["provider"].isna().sum() == 2
    # A provider named in another case is that provider, as in the loaders and the CLI.
    typed = tk.conform(pd.DataFrame({"provider": ["Briq", " WASSIST", "BriQ x"]}))["provider"]
    assert typed.tolist()[:2] == ["briq", "wassist"] and pd.isna(typed.iloc[2])
    for column, value in [("has_unread", "maybe"), ("unread_count", 1.5), ("unread_count", "three"),
                          ("is_active", 2)]:
        with pytest.raises(ValueError, match=f"column '{column}' holds {value!r}"):
            tk.conform(pd.DataFrame({column: [None, value]}))
