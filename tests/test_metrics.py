"""Metrics against hand-computed expectations, boundaries and missing values included."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import toolkit as tk

AS_OF = pd.Timestamp("2026-09-29T12:00:00Z")
H = pd.Timedelta(hours=1)


def frame(rows: list[dict]) -> pd.DataFrame:
    """A unified frame from partial rows; everything unspecified is missing."""
    base = {"provider": "briq", "fetched_at": AS_OF}
    records = [{**base, "conversation_id": f"c{i}", **row} for i, row in enumerate(rows)]
    df = pd.DataFrame(records)
    return tk.conform(df)


def windows(*remaining_hours, provider="briq", unread=True) -> pd.DataFrame:
    rows = []
    for hours in remaining_hours:
        if hours is None:
            rows.append({"window_open": True, "window_expires_at": None, "has_unread": unread,
                         "provider": provider})
        elif hours == "closed":
            rows.append({"window_open": False, "window_expires_at": AS_OF - 3 * H, "has_unread": unread,
                         "provider": provider})
        else:
            rows.append({"window_open": True, "window_expires_at": AS_OF + hours * H, "has_unread": unread,
                         "provider": provider})
    return frame(rows)


def test_window_remaining_clips_and_marks_closed_and_unknown():
    df = windows(2, -1, "closed", None)
    remaining = tk.window_remaining(df)
    assert remaining.iloc[0] == 2 * H
    assert remaining.iloc[1] == pd.Timedelta(0)  # open but already past: clipped
    assert remaining.iloc[2] == pd.Timedelta(0)  # closed
    assert remaining.iloc[3] is pd.NaT          # open, expiry unknown
    assert pd.api.types.is_timedelta64_dtype(remaining)


def test_window_remaining_defaults_to_the_snapshot_time_not_the_clock():
    df = windows(2)
    assert tk.window_remaining(df).iloc[0] == 2 * H
    assert tk.window_remaining(df, as_of="2026-09-29 13:00").iloc[0] == H  # naive = UTC
    assert tk.window_remaining(df, as_of=AS_OF.to_pydatetime()).iloc[0] == 2 * H


@pytest.mark.parametrize("hours, bucket", [
    (0, "closed"), (-0.5, "closed"), (1e-6, "<1h"), (0.999, "<1h"), (1, "1-4h"), (3.99, "1-4h"),
    (4, "4-12h"), (11.999, "4-12h"), (12, "12-24h"), (24, "12-24h"), (30, "12-24h"),
])
def test_window_bucket_edges(hours, bucket):
    assert tk.window_bucket(windows(hours)).iloc[0] == bucket


def test_window_bucket_categories_and_missing():
    buckets = tk.window_bucket(windows("closed", None, 2))
    assert list(buckets.cat.categories) == ["closed", "<1h", "1-4h", "4-12h", "12-24h"]
    assert buckets.cat.ordered
    assert buckets.iloc[0] == "closed" and buckets.iloc[1] is np.nan or pd.isna(buckets.iloc[1])
    assert buckets.iloc[2] == "1-4h"


def test_unknown_open_state_is_missing_not_closed():
    df = frame([{"window_open": None, "window_expires_at": AS_OF + H}])
    assert pd.isna(tk.window_remaining(df).iloc[0])
    assert pd.isna(tk.window_bucket(df).iloc[0])


def test_unread_summary_by_provider_and_all():
    df = frame([
        {"provider": "briq", "has_unread": True, "unread_count": 3},
        {"provider": "briq", "has_unread": False, "unread_count": 0},
        {"provider": "briq", "has_unread": True, "unread_count": 2},
        {"provider": "wassist", "has_unread": True, "unread_count": None},
        {"provider": "wassist", "has_unread": False, "unread_count": None},
    ])
    summary = tk.unread_summary(df)
    assert list(summary.columns) == ["conversations", "unread_conversations", "unread_share",
                                     "unread_messages"]
    assert summary.loc["briq", "conversations"] == 3
    assert summary.loc["briq", "unread_conversations"] == 2
    assert summary.loc["briq", "unread_share"] == pytest.approx(2 / 3)
    assert summary.loc["briq", "unread_messages"] == 5
    assert summary.loc["wassist", "unread_messages"] is pd.NA
    assert summary.loc["wassist", "unread_share"] == 0.5
    everything = tk.unread_summary(df, by=None)
    assert list(everything.index) == ["all"]
    assert everything.loc["all", "conversations"] == 5 and everything.loc["all", "unread_messages"] == 5


def test_unread_summary_by_several_columns_and_missing_unread():
    df = frame([
        {"provider": "briq", "channel_id": "a", "has_unread": None, "unread_count": None},
        {"provider": "briq", "channel_id": "b", "has_unread": True, "unread_count": 1},
    ])
    summary = tk.unread_summary(df, by=["provider", "channel_id"])
    assert summary.loc[("briq", "a"), "unread_conversations"] == 0
    assert summary.loc[("briq", "a"), "unread_messages"] is pd.NA
    assert summary.loc[("briq", "b"), "unread_messages"] == 1


def test_summaries_of_an_empty_frame():
    empty = tk.empty_frame()
    assert len(tk.unread_summary(empty)) == 0
    assert tk.unread_summary(empty, by=None).loc["all", "conversations"] == 0
    assert list(tk.expiry_summary(empty).columns) == ["closed", "<1h", "1-4h", "4-12h", "12-24h"]
    assert len(tk.at_risk(empty)) == 0
    timeline = tk.expiry_timeline(empty, as_of=AS_OF)
    assert len(timeline) == 24 and timeline.sum() == 0


def test_expiry_summary_counts_each_bucket_in_order():
    df = pd.concat([windows("closed", 0.5, 0.5, 2, 13, None, provider="briq"),
                    windows(5, provider="wassist")], ignore_index=True)
    summary = tk.expiry_summary(df)
    assert list(summary.columns) == ["closed", "<1h", "1-4h", "4-12h", "12-24h"]
    assert summary.loc["briq"].tolist() == [1, 2, 1, 0, 1]
    assert summary.loc["wassist"].tolist() == [0, 0, 0, 1, 0]
    assert all(dtype == np.int64 for dtype in summary.dtypes)
    assert tk.expiry_summary(df, by=None).loc["all"].tolist() == [1, 2, 1, 1, 1]


def test_expiry_summary_of_one_provider_has_one_row():
    summary = tk.expiry_summary(windows(2, provider="wassist"))
    assert list(summary.index) == ["wassist"]


def test_at_risk_keeps_unread_open_windows_closing_within_and_sorts_soonest_first():
    df = pd.concat([
        windows(1.5, 0.25, 2, 2.01, "closed", None, 0),           # unread
        windows(0.1, unread=False),                               # read: never at risk
    ], ignore_index=True)
    risky = tk.at_risk(df, within="2h")
    assert risky["conversation_id"].tolist() == ["c1", "c0", "c2"]
    assert risky["window_remaining"].tolist() == [0.25 * H, 1.5 * H, 2 * H]
    assert list(risky.columns[:13]) == list(tk.SCHEMA)


def test_expiry_timeline_intervals_are_half_open_and_complete():
    df = windows(0, 0.5, 1, 1.5, 23.99, 24, "closed", None)
    timeline = tk.expiry_timeline(df)
    assert len(timeline) == 24
    assert timeline.index[0] == AS_OF and timeline.index[1] == AS_OF + H
    assert str(timeline.index.tz) == "UTC"
    assert timeline.iloc[0] == 2      # expires at as_of and at +30 min
    assert timeline.iloc[1] == 2      # +1h exactly belongs to the second interval
    assert timeline.iloc[23] == 1     # +23.99h; +24h is past the horizon
    assert timeline.sum() == 5


def test_expiry_timeline_other_frequency():
    timeline = tk.expiry_timeline(windows(0.5, 5), freq="4h", horizon="12h")
    assert timeline.tolist() == [1, 1, 0]


def test_every_value_missing():
    df = frame([{"provider": "wassist"}, {"provider": "briq"}])
    assert tk.window_bucket(df).isna().all()
    assert tk.unread_summary(df)["unread_conversations"].sum() == 0
    assert tk.expiry_summary(df).to_numpy().sum() == 0
    assert len(tk.at_risk(df)) == 0 and tk.expiry_timeline(df).sum() == 0


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="within"):
        tk.at_risk(windows(1), within="soon")
    # pandas reads a bare 2 as two nanoseconds: an empty answer to a question meant in hours.
    for bare in (2, 7200, 1.5, True):
        with pytest.raises(ValueError, match="within must be a duration with its unit"):
            tk.at_risk(windows(1), within=bare)
    for nothing in ("-2h", "0s"):
        with pytest.raises(ValueError, match="within must be a positive duration"):
            tk.at_risk(windows(1), within=nothing)
        with pytest.raises(ValueError, match="within must be a positive duration"):
            tk.closing_share(windows(1), within=nothing)
    with pytest.raises(KeyError, match=r"by names column\(s\) the frame does not have: \['nosuch'\]"):
        tk.unread_summary(windows(1), by="nosuch")
    with pytest.raises(TypeError, match="by must be a column name or a list of them"):
        tk.unread_summary(windows(1), by=5)
    with pytest.raises(ValueError, match="as_of"):
        tk.window_remaining(windows(1), as_of="yesterday-ish")
    with pytest.raises(KeyError, match="window_open"):
        tk.window_bucket(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="freq"):
        tk.expiry_timeline(windows(1), freq="0h")


def test_as_of_now_is_this_moment_whatever_the_machines_zone(monkeypatch):
    # pandas reads "now" as the local wall clock without a zone; read as UTC it was off by
    # the machine's offset (nine hours in Tokyo: a window with three hours left was closed).
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        now = pd.Timestamp.now(tz="UTC")
        df = frame([{"window_open": True, "window_expires_at": now + 3 * H, "has_unread": True}])
        left = tk.window_remaining(df, as_of="now").iloc[0]
        assert pd.Timedelta(hours=2, minutes=59) < left <= 3 * H
        with pytest.raises(ValueError, match="'today' could mean midnight or now"):
            tk.window_remaining(df, as_of="today")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_unread_wait_and_percentiles():
    df = frame([
        {"has_unread": True, "last_message_at": AS_OF - 1 * H},
        {"has_unread": True, "last_message_at": AS_OF - 3 * H},
        {"has_unread": False, "last_message_at": AS_OF - 9 * H},
        {"has_unread": True, "last_message_at": None},
    ])
    waited = tk.unread_wait(df)
    assert waited.tolist()[:3] == [H, 3 * H, pd.NaT] or (waited.iloc[0] == H and waited.iloc[1] == 3 * H
                                                         and pd.isna(waited.iloc[2]))
    table = tk.wait_percentiles(df, percentiles=(0.5, 1.0))
    assert table.loc["briq", "count"] == 2
    assert table.loc["briq", "p50"] == pytest.approx(2.0)
    assert table.loc["briq", "p100"] == pytest.approx(3.0)


def test_closed_with_unread_needs_a_template():
    df = pd.concat([windows("closed", 2), windows("closed", unread=False)], ignore_index=True)
    needing = tk.closed_with_unread(df)
    assert needing["conversation_id"].tolist() == ["c0"]


def test_closing_share():
    df = windows(1, 3, 10, "closed", None)
    share = tk.closing_share(df, within="4h")
    assert share.loc["briq", "open_windows"] == 3
    assert share.loc["briq", "closing"] == 2
    assert share.loc["briq", "closing_share"] == pytest.approx(2 / 3)


def test_takeover_backlog():
    df = frame([
        {"provider": "wassist", "channel_id": "a", "is_human_takeover": True, "has_unread": True,
         "window_open": True},
        {"provider": "wassist", "channel_id": "a", "is_human_takeover": True, "has_unread": False,
         "window_open": False},
        {"provider": "wassist", "channel_id": "b", "is_human_takeover": False, "has_unread": True,
         "window_open": True},
    ])
    backlog = tk.takeover_backlog(df)
    assert backlog.loc["a"].tolist() == [2, 1, 1]
    assert "b" not in backlog.index


@pytest.mark.parametrize("within", ["2", " 90 ", "1.5"])
def test_a_duration_given_as_text_without_a_unit_is_refused(within):
    # pandas reads the text "2" as two nanoseconds: "within 2" would silently count nothing.
    with pytest.raises(ValueError, match="with its unit"):
        tk.at_risk(windows(1, 3), within=within, as_of=AS_OF)


@pytest.mark.parametrize("within, hours", [("4H", 4), ("2H30min", 2.5), ("7200S", 2), ("1w", 168),
                                           ("P1DT2H", 26)])
def test_a_unit_in_the_case_pandas_4_drops_is_read_without_its_warning(within, hours):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas 3 warns that pandas 4 will not read "4H" or "1w"
        risky = tk.at_risk(windows(hours - 0.1, hours + 0.1), within=within, as_of=AS_OF)
    assert len(risky) == 1


def test_a_day_written_in_lower_case_is_read_without_pandas_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas 3 warns that pandas 4 will not read "1d"
        assert len(tk.at_risk(windows(1, 30), within="1d", as_of=AS_OF)) == 1
        assert len(tk.expiry_timeline(windows(1, 30), freq="1h", horizon="2d", as_of=AS_OF)) == 48
        assert len(tk.at_risk(windows(1, 30, 40), within="1d12h", as_of=AS_OF)) == 2
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots()
        tk.plot_expiry_timeline(windows(1, 30), horizon="2d", as_of=AS_OF, ax=ax)
        assert "next 48 hours" in ax.get_title()
        plt.close(figure)
        from toolkit import cli

        assert cli.build_parser().parse_args(["watch", "--every", "1d"]).every == pd.Timedelta(days=1)


@pytest.mark.parametrize("freq", ["1ns", "1us", "100ms"])
def test_an_expiry_timeline_of_too_many_intervals_is_refused_at_once(freq):
    # One Python object per interval: a nanosecond freq over 24 h ran out of memory instead.
    with pytest.raises(ValueError, match="choose a longer freq"):
        tk.expiry_timeline(windows(1, 3), freq=freq, as_of=AS_OF)
    minutes = tk.expiry_timeline(windows(1, 3), freq="1min", as_of=AS_OF)
    assert len(minutes) == 24 * 60 and minutes.sum() == 2


@pytest.mark.parametrize("summary", [tk.unread_summary, tk.wait_percentiles, tk.expiry_summary,
                                     tk.closing_share])
def test_an_empty_by_is_refused_with_the_way_to_ask_for_no_groups(summary):
    with pytest.raises(ValueError, match="by=None for one row"):
        summary(windows(1, 3), by=[])


def test_the_backlog_chart_takes_by_none_as_the_metrics_do():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    tk.plot_unread_backlog(windows(1, 3, "closed"), by=None, ax=ax)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["all"]
    assert ax.get_title() == "Unread backlog"
    plt.close(figure)


def test_booleans_written_as_text_read_as_conform_reads_them():
    # What pd.read_csv(path, dtype=str) gives: "True"/"False" text, as the spreadsheet wrote it.
    typed = windows(1, 3, 30, "closed")
    text = typed.assign(has_unread=typed["has_unread"].astype(str),
                        window_open=typed["window_open"].astype(str))
    pd.testing.assert_frame_equal(tk.at_risk(text, within="4h", as_of=AS_OF)[["conversation_id"]],
                                  tk.at_risk(typed, within="4h", as_of=AS_OF)[["conversation_id"]])
    pd.testing.assert_frame_equal(tk.unread_summary(text), tk.unread_summary(typed))
    pd.testing.assert_frame_equal(tk.expiry_summary(text, as_of=AS_OF), tk.expiry_summary(typed, as_of=AS_OF))
    with pytest.raises(ValueError, match="'has_unread' holds 'maybe'"):
        tk.unread_summary(typed.assign(has_unread=["maybe", "True", "False", "True"]))


@pytest.mark.parametrize("ax", ["x", "figure", "axes array"])
def test_a_chart_given_something_else_than_one_axes_says_what_to_give(ax):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2)
    given = {"x": "x", "figure": figure, "axes array": axes}[ax]
    for chart in (tk.plot_at_risk, tk.plot_unread_backlog, tk.plot_unread_wait, tk.plot_expiry_timeline):
        with pytest.raises(TypeError, match="ax must be one matplotlib Axes"):
            chart(windows(1, 3), ax=given)
    plt.close(figure)


@pytest.mark.parametrize("limit", ["5", 0, -1, 2.5, True])
def test_the_at_risk_chart_refuses_a_limit_that_is_no_count_of_bars(limit):
    with pytest.raises(ValueError, match="limit must be a whole number of bars"):
        tk.plot_at_risk(windows(1, 3), within="4h", limit=limit)


def test_a_column_twice_or_a_column_also_an_index_level_is_named():
    typed = windows(1, 3, "closed")
    doubled = pd.concat([typed, typed[["has_unread"]]], axis=1)
    for metric in (tk.unread_summary, tk.at_risk):
        with pytest.raises(ValueError, match=r"more than one column named \['has_unread'\]"):
            metric(doubled)
    indexed = typed.set_index(["provider", "conversation_id"], drop=False)
    for summary in (tk.unread_summary, tk.expiry_summary, tk.wait_percentiles):
        with pytest.raises(ValueError, match="drop the index first"):
            summary(indexed)
