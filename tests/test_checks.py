"""Data checks: each rule finds exactly the rows built to break it, and real data passes."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import toolkit as tk

from .helpers import briq, wassist

PULLED = pd.Timestamp("2026-11-21T09:00:00Z")
HOUR = pd.Timedelta(hours=1)


def conversation(conversation_id, **changes):
    """A sane row: customer wrote 2 h before the pull, window open until 22 h after it."""
    values = {
        "provider": "briq", "conversation_id": conversation_id, "contact_phone": "255700000001",
        "contact_name": "Asha", "channel_id": "s1", "is_active": True, "is_human_takeover": pd.NA,
        "has_unread": True, "unread_count": 2, "last_message_at": PULLED - 2 * HOUR, "window_open": True,
        "window_expires_at": PULLED + 22 * HOUR, "fetched_at": PULLED,
    }
    values.update(changes)
    return values


def frame(rows):
    return tk.conform(pd.DataFrame(rows))


@pytest.fixture
def broken():
    """One sane row and, per rule, rows that break exactly that rule."""
    return frame([
        conversation("ok"),
        conversation("ok-closed", window_open=False, window_expires_at=PULLED - 5 * HOUR, has_unread=False,
                     unread_count=0, last_message_at=PULLED - 29 * HOUR),
        conversation("ok-wassist", provider="wassist", unread_count=None),
        conversation("skew", last_message_at=PULLED + 5 * pd.Timedelta(minutes=1),
                     window_expires_at=PULLED + 24 * HOUR),
        # The last message was 2 h before the pull: the window can run 22 h more at most.
        conversation("long-window", window_expires_at=PULLED + 23 * HOUR),
        conversation("open-too-long", last_message_at=PULLED - 30 * HOUR, window_expires_at=pd.NaT),
        conversation("open-but-expired", last_message_at=PULLED - 23 * HOUR, window_expires_at=PULLED - HOUR),
        conversation("closed-but-running", window_open=False),
        conversation("flag-no-count", has_unread=True, unread_count=0),
        conversation("count-no-flag", has_unread=False, unread_count=3),
        conversation("twice"), conversation("twice"),
        conversation(None), conversation("  "),
        conversation("short-phone", contact_phone="25571"),
        conversation("long-phone", contact_phone="2557000000000001"),
    ])


def test_each_rule_finds_exactly_its_rows(broken):
    result = tk.check_conversations(broken)
    assert list(result.columns) == ["description", "offending_rows", "examples"]
    found = {name: set(ids) for name, ids in result["examples"].items()}
    expected = {
        "last_message_after_pull": {"skew"},
        "window_beyond_24h": {"long-window", "open-too-long"},
        "window_open_vs_expiry": {"open-but-expired", "closed-but-running"},
        "unread_flag_vs_count": {"flag-no-count", "count-no-flag"},
        "duplicated_id": {"twice"},
        "missing_id": {"<row 12>", "<row 13>"},
        "phone_too_short": {"short-phone"},
        "phone_too_long": {"long-phone"},
    }
    assert found == expected
    assert result["offending_rows"].to_dict() == {name: len(ids) for name, ids in expected.items()}
    assert result["offending_rows"].dtype == "int64"


def test_examples_are_capped_and_counts_are_not(broken):
    many = frame([conversation(f"short-{n}", contact_phone="123") for n in range(10)])
    result = tk.check_conversations(many, examples=2)
    assert result.loc["phone_too_short", "offending_rows"] == 10
    assert result.loc["phone_too_short", "examples"] == ["short-0", "short-1"]


def test_tolerance_forgives_small_clock_differences():
    slightly = frame([conversation("late", last_message_at=PULLED + pd.Timedelta(seconds=20),
                                   window_expires_at=PULLED + 24 * HOUR)])
    assert tk.check_conversations(slightly)["offending_rows"].sum() == 0
    strict = tk.check_conversations(slightly, tolerance="5s")
    assert strict.loc["last_message_after_pull", "offending_rows"] == 1


def test_a_history_may_hold_a_conversation_once_per_snapshot():
    rows = [conversation("A"), conversation("A", fetched_at=PULLED + 24 * HOUR)]
    history = frame(rows).assign(snapshot_at=[PULLED, PULLED + 24 * HOUR])
    history.loc[1, "window_open"] = False
    history.loc[1, "window_expires_at"] = PULLED + 22 * HOUR
    assert tk.check_conversations(history)["offending_rows"].sum() == 0
    flat = tk.check_conversations(history.drop(columns="snapshot_at"))
    assert flat.loc["duplicated_id", "offending_rows"] == 1


def test_an_empty_frame_passes_and_bad_arguments_are_clear():
    assert tk.check_conversations(tk.empty_frame())["offending_rows"].sum() == 0
    with pytest.raises(KeyError, match="window_open"):
        tk.check_conversations(tk.empty_frame().drop(columns="window_open"))
    with pytest.raises(TypeError):
        tk.check_conversations([1, 2])
    with pytest.raises(ValueError, match="tolerance"):
        tk.check_conversations(tk.empty_frame(), tolerance="soon")
    with pytest.raises(ValueError, match="examples"):
        tk.check_conversations(tk.empty_frame(), examples=-1)


def test_the_input_is_not_changed(broken):
    before = broken.copy()
    tk.check_conversations(broken)
    pd.testing.assert_frame_equal(broken, before)


def test_a_sandbox_pull_passes_every_check(sandbox):
    pulled = pd.concat([wassist(sandbox), briq(sandbox)], ignore_index=True)
    result = tk.check_conversations(pulled)
    assert result["offending_rows"].sum() == 0, result[result["offending_rows"] > 0]


def test_the_report_sums_the_checks_in_one_line_with_details_a_click_away(broken):
    page = tk.build_report(broken)
    line = re.search(r'<details class="checks"><summary>(.*?)</summary>', page).group(1)
    assert line.startswith("Data checks: 8 of 8 found")
    assert "phone too short (1 row)" in line and "window open vs expiry (2 rows)" in line
    assert "short-phone" in page.split("</summary>", 1)[1]
    clean = tk.build_report(broken[broken["conversation_id"] == "ok"])
    assert "Data checks: all 8 passed on this pull." in clean
