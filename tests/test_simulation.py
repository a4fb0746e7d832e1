"""The simulated history and the sandbox's data could have happened: every data check
passes for every seed and size, and the trend metrics agree with the per-snapshot metrics
they are built from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import toolkit as tk
from toolkit.sandbox import HistoryConfig, Sandbox, SandboxConfig, SimulatedInbox
from toolkit.sandbox._history import snapshot_frame

FAST = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def simulated(config: HistoryConfig, *, in_property: bool = False) -> pd.DataFrame:
    frames = [frame.assign(snapshot_at=moment) for moment, frame in SimulatedInbox(config).snapshots()]
    if in_property:
        assume(frames)  # a one-day history that ends before the day's snapshot has none
    history = pd.concat(frames, ignore_index=True)
    history["snapshot_at"] = history["snapshot_at"].astype("datetime64[us, UTC]")
    return history


histories = st.builds(
    HistoryConfig,
    days=st.integers(1, 4),
    wassist_conversations=st.integers(0, 40),
    briq_conversations=st.integers(1, 40),
    channels=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    end=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
        lambda moment: moment.replace(tzinfo=UTC)),
)


def assert_no_findings(frame: pd.DataFrame) -> None:
    # Strict: one second, because some times come cut to the second (as live servers send them).
    findings = tk.check_conversations(frame, tolerance="1s")
    assert findings["offending_rows"].sum() == 0, findings[findings["offending_rows"] > 0]


@FAST
@given(histories)
def test_a_simulated_history_passes_every_check_and_never_sees_the_future(config):
    history = simulated(config, in_property=True)
    assert_no_findings(history)
    assert (history["last_message_at"].isna() | (history["last_message_at"] <= history["snapshot_at"])).all()
    assert (history["snapshot_at"] < pd.Timestamp(config.end)).all()
    # An open window runs exactly 24 h from the customer's last message: never beyond the last message + 24 h.
    open_rows = history[history["window_open"].fillna(False).astype(bool)]
    assert (open_rows["window_expires_at"] <= open_rows["last_message_at"] + pd.Timedelta(hours=24)).all()


@FAST
@given(seed=st.integers(0, 10_000), wassist_size=st.integers(0, 120), briq_size=st.integers(0, 120),
       channels=st.integers(1, 5), churn=st.integers(0, 60))
def test_the_sandbox_data_passes_every_check(seed, wassist_size, briq_size, channels, churn):
    config = SandboxConfig(seed=seed, wassist_conversations=wassist_size, briq_conversations=briq_size,
                           channels=channels)
    sandbox = Sandbox(config)
    sandbox.churn(churn)
    assert_no_findings(snapshot_frame(sandbox.conversations, datetime.now(UTC) + timedelta(seconds=1)))


@FAST
@given(histories)
def test_daily_trends_equal_per_snapshot_trends_with_one_snapshot_a_day(config):
    history = simulated(config, in_property=True)
    for trend in (tk.unread_trend, tk.wait_trend):
        daily = trend(history, by="provider", freq="D")
        each = trend(history, by="provider")
        relabelled = each.rename(index=lambda moment: moment.floor("D") if isinstance(moment, pd.Timestamp)
                                 else moment, level="snapshot_at")
        pd.testing.assert_frame_equal(daily, relabelled)


@FAST
@given(histories)
def test_trends_agree_with_the_per_snapshot_metrics(config):
    history = simulated(config, in_property=True)
    unread = tk.unread_trend(history, by="provider")
    waits = tk.wait_trend(history, by="provider", percentiles=(0.5, 0.9))
    assert (waits[["p50", "p90"]].dropna() >= 0).all().all()
    for (moment, provider), rows in history.groupby(["snapshot_at", "provider"], observed=True):
        got, want = unread.loc[(moment, provider)], tk.unread_summary(rows).loc[provider]
        for column in ("conversations", "unread_conversations", "unread_messages"):
            assert (pd.isna(got[column]) and pd.isna(want[column])) or got[column] == want[column]
        expected = tk.wait_percentiles(rows, as_of=moment, percentiles=(0.5, 0.9)).loc[provider]
        np.testing.assert_allclose(waits.loc[(moment, provider)].to_numpy(float), expected.to_numpy(float))
    assert (unread["carried_over"] <= unread["unread_conversations"]).all()
    # Windows lost: seen open with unread at one snapshot, closed with unread at the provider's next.
    lost = 0
    for _, rows in history.groupby("provider", observed=True):
        moments = sorted(rows["snapshot_at"].unique())
        for earlier, later in zip(moments, moments[1:], strict=False):
            before = rows[rows["snapshot_at"] == earlier]
            waiting = set(before.loc[tk.window_bucket(before, as_of=earlier).ne("closed").fillna(False)
                                     & before["has_unread"].fillna(False).astype(bool), "conversation_id"])
            after = rows[rows["snapshot_at"] == later]
            lost += len(waiting & set(tk.closed_with_unread(after, as_of=later)["conversation_id"]))
    assert tk.closed_unread_by_day(history, by=None)["all"].sum() == lost
    # Runs of unread: unread in every snapshot of the provider between their first and last.
    for run in tk.persistent_unread(history, min_snapshots=2).itertuples():
        rows = history[(history["provider"] == run.provider) & history["snapshot_at"].between(
            run.first_unread_at, run.last_unread_at)]
        mine = rows[rows["conversation_id"] == run.conversation_id]
        assert rows["snapshot_at"].nunique() == run.snapshots == len(mine)
        assert mine["has_unread"].all()


def test_the_default_history_spreads_waits_and_lost_windows_over_every_day():
    history = simulated(HistoryConfig(days=14, end=datetime(2026, 11, 20, 12, tzinfo=UTC)))
    waits = tk.wait_trend(history, by=None, freq="D")
    assert (waits["p50"] > 1).all(), waits  # somebody always waits hours, never nobody
    lost = tk.closed_unread_by_day(history, by=None)["all"]
    assert (lost.iloc[1:] > 0).mean() >= 0.7, lost  # windows are lost on most days, not only at the end
    assert lost.max() < len(history) / history["snapshot_at"].nunique() / 5


@pytest.mark.parametrize("hours", [(9,), (9, 17)])
def test_snapshot_moments_are_before_the_end(hours):
    end = datetime(2026, 11, 20, 12, tzinfo=UTC)
    inbox = SimulatedInbox(HistoryConfig(days=3, snapshot_hours=hours, wassist_conversations=5,
                                         briq_conversations=5, end=end))
    assert all(moment < end for moment in inbox.moments)
    assert len(inbox.moments) == 3 * len(hours) - (1 if 17 in hours else 0)
