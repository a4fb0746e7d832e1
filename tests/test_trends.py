"""Trend metrics on small histories whose answers are worked out by hand."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import toolkit as tk

T1 = pd.Timestamp("2026-11-02T09:00:00Z")
T2 = pd.Timestamp("2026-11-03T09:00:00Z")
T3 = pd.Timestamp("2026-11-04T09:00:00Z")
HOUR = pd.Timedelta(hours=1)


def row(snapshot_at, conversation_id, *, unread, open_until=None, provider="briq", channel="s1",
        last_message_at=None, count=None):
    """One conversation as one snapshot saw it; ``open_until`` set means the window is open."""
    return {
        "provider": provider, "conversation_id": conversation_id, "contact_phone": "255700000001",
        "contact_name": f"name {conversation_id}", "channel_id": channel, "is_active": True,
        "is_human_takeover": pd.NA, "has_unread": unread,
        "unread_count": count if count is not None else int(unread),
        "last_message_at": last_message_at if last_message_at is not None else snapshot_at - HOUR,
        "window_open": open_until is not None, "window_expires_at": open_until,
        "fetched_at": snapshot_at, "snapshot_at": snapshot_at,
    }


def history(rows):
    frame = tk.conform(pd.DataFrame(rows))
    frame["snapshot_at"] = pd.to_datetime(frame["snapshot_at"], utc=True).astype("datetime64[us, UTC]")
    return frame


@pytest.fixture
def three_days():
    """Five Briq threads over three daily snapshots, and one Wassist thread.

    - A: unread in all three snapshots, window open throughout.
    - B: unread, answered by the second snapshot, unread again in the third.
    - C: unread with its window closing at 2026-11-02 20:00; at the second snapshot the
      window is closed and the message still unread: one closing with unread, on the 2nd.
    - D: unread, its window ran out but the customer wrote again: open at the second.
    - E: unread, then answered, then its window closed: nothing unread when it closed.
    - W (Wassist, channel a1): unread in the first two snapshots, absent from the third.
    """
    rows = [
        row(T1, "A", unread=True, open_until=T1 + 20 * HOUR),
        row(T2, "A", unread=True, open_until=T2 + 20 * HOUR),
        row(T3, "A", unread=True, open_until=T3 + 20 * HOUR),
        row(T1, "B", unread=True, open_until=T1 + 5 * HOUR),
        row(T2, "B", unread=False, open_until=None),
        row(T3, "B", unread=True, open_until=T3 + 23 * HOUR),
        row(T1, "C", unread=True, open_until=T1 + 11 * HOUR),
        row(T2, "C", unread=True, open_until=None),
        row(T3, "C", unread=True, open_until=None),
        row(T1, "D", unread=True, open_until=T1 + 2 * HOUR),
        row(T2, "D", unread=True, open_until=T2 + 22 * HOUR),
        row(T1, "E", unread=True, open_until=T1 + 3 * HOUR),
        row(T2, "E", unread=False, open_until=None),
        row(T1, "W", unread=True, open_until=T1 + 10 * HOUR, provider="wassist", channel="a1"),
        row(T2, "W", unread=True, open_until=T2 + 10 * HOUR, provider="wassist", channel="a1"),
    ]
    return history(rows)


def test_unread_trend_counts_each_snapshot_and_what_carried_over(three_days):
    trend = tk.unread_trend(three_days, by="provider")
    briq = trend.xs("briq", level="provider")
    # Unread Briq threads: T1 A B C D E = 5; T2 A C D = 3; T3 A B C = 3.
    assert briq["unread_conversations"].tolist() == [5, 3, 3]
    assert briq["conversations"].tolist() == [5, 5, 3]
    # Already unread in the previous snapshot: T2 A C D = 3; T3 A C = 2 (B was answered at T2).
    assert briq["carried_over"].tolist() == [0, 3, 2]
    wassist = trend.xs("wassist", level="provider")
    assert wassist["unread_conversations"].tolist() == [1, 1]
    assert wassist["carried_over"].tolist() == [0, 1]


def test_unread_trend_for_everything_and_by_channel(three_days):
    overall = tk.unread_trend(three_days, by=None)
    assert overall["unread_conversations"].tolist() == [6, 4, 3]
    by_channel = tk.unread_trend(three_days, by="channel_id")["unread_conversations"].unstack()
    assert by_channel.loc[T2, "a1"] == 1 and by_channel.loc[T2, "s1"] == 3


@pytest.mark.parametrize("freq", [None, "D"])
def test_a_by_column_the_history_lacks_is_named_among_the_historys_own_columns(three_days, freq):
    with pytest.raises(KeyError, match=r"by names column\(s\) the frame does not have: \['nope'\]") as raised:
        tk.unread_trend(three_days, by="nope", freq=freq)
    assert "_period" not in str(raised.value) and "'snapshot_at'" in str(raised.value)


def test_a_trend_by_day_reads_as_days_and_one_by_snapshot_as_moments(three_days):
    # The day labels a row of a daily trend; shown as its midnight it read as a snapshot's time.
    daily = tk.readable(tk.unread_trend(three_days, by="provider", freq="D"))
    assert daily.index.names[0] == "Day (UTC)"
    assert set(daily.index.get_level_values(0)) == {"2026-11-02", "2026-11-03", "2026-11-04"}
    lost = tk.readable(tk.closed_unread_by_day(three_days, by="provider"))
    assert all(len(day) == 10 for day in lost.index.get_level_values(0))
    # The trend's days are UTC days: shown as such beside times in another zone.
    tokyo = tk.readable(tk.unread_trend(three_days, by="provider", freq="D"), tz="Asia/Tokyo")
    assert tokyo.index.names[0] == "Day (UTC)" and "2026-11-02" in set(tokyo.index.get_level_values(0))
    weekly = tk.readable(tk.unread_trend(three_days, by="provider", freq="2D"))
    assert weekly.index.names[0] == "Period from (UTC)"
    # A day with no snapshot leaves a gap: the others are still days, not periods of two.
    gap = three_days[three_days["snapshot_at"] != T2]
    for trend in (tk.unread_trend(gap, by="provider", freq="D"), tk.wait_trend(gap, by="provider", freq="D")):
        assert tk.readable(trend).index.names[0] == "Day (UTC)"
    assert tk.readable(tk.unread_trend(gap, by="provider", freq="2D")).index.names[0] == "Period from (UTC)"
    # A period given as a Timedelta or an offset is the same period.
    for day in (pd.Timedelta(days=1), pd.offsets.Day()):
        assert tk.readable(tk.unread_trend(gap, by="provider", freq=day)).index.names[0] == "Day (UTC)"
    # Periods shorter than a day are moments, also when the ones kept fall on midnight.
    halves = tk.readable(tk.unread_trend(gap, by="provider", freq="12h"))
    # "12H", which pandas 3 refuses as a period, is the same 12 hours.
    pd.testing.assert_frame_equal(tk.readable(tk.unread_trend(gap, by="provider", freq="12H")), halves)
    # Weeks from a weekday are no fixed period: refused in our words, not with pandas 4's warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas 3 reads "w-mon" with a warning that pandas 4 will not
        with pytest.raises(ValueError, match="freq: cannot use 'W-MON' as a period"):
            tk.unread_trend(three_days, by="provider", freq="w-mon")
    assert halves.index.names[0] == "Period from (UTC)"
    assert all(label.endswith("00:00") for label in halves.index.get_level_values(0))
    each = tk.readable(tk.unread_trend(three_days, by="provider"))
    assert each.index.names[0] == "Snapshot (UTC)"
    assert set(each.index.get_level_values(0)) == {f"{moment:%Y-%m-%d %H:%M}" for moment in (T1, T2, T3)}


def test_closed_with_unread_counts_only_windows_nobody_answered_in_time(three_days):
    closed = tk.closed_unread_by_day(three_days, by="provider")
    assert list(closed.index) == [pd.Timestamp("2026-11-02", tz="UTC"), pd.Timestamp("2026-11-03", tz="UTC"),
                                  pd.Timestamp("2026-11-04", tz="UTC")]
    # Only C: open and unread at T1, closed and still unread at T2; its window closed on the 2nd.
    assert closed["briq"].tolist() == [1, 0, 0]
    assert closed["wassist"].tolist() == [0, 0, 0]
    assert tk.closed_unread_by_day(three_days, by=None)["all"].sum() == 1


def test_closing_without_a_known_expiry_counts_on_the_later_snapshot_day():
    rows = [row(T1, "X", unread=True, open_until=None), row(T2, "X", unread=True, open_until=None)]
    rows[0]["window_open"] = True  # open, expiry not sent
    closed = tk.closed_unread_by_day(history(rows), by=None)
    assert closed["all"].tolist() == [0, 1]


def test_windows_lost_count_on_the_day_of_the_zone_asked_for():
    # Closes at 22:30 UTC on the 2nd: 01:30 on the 3rd in Dar es Salaam (UTC+3).
    closes = pd.Timestamp("2026-11-02T22:30:00Z")
    rows = [row(T1, "X", unread=True, open_until=closes), row(T2, "X", unread=True, open_until=None)]
    in_utc = tk.closed_unread_by_day(history(rows), by=None)
    assert in_utc["all"].tolist() == [1, 0]
    local = tk.closed_unread_by_day(history(rows), by=None, tz="Africa/Dar_es_Salaam")
    assert list(local.index) == [pd.Timestamp("2026-11-02", tz="Africa/Dar_es_Salaam"),
                                 pd.Timestamp("2026-11-03", tz="Africa/Dar_es_Salaam")]
    assert local["all"].tolist() == [0, 1]
    axes = tk.plot_closed_unread(history(rows), by=None, tz="Africa/Dar_es_Salaam")
    assert axes.get_xlabel() == "day the window closed (EAT)"
    assert [bar.get_height() for bar in axes.patches] == [0, 1]


@pytest.mark.parametrize(("zone", "skipped"), [("Africa/Cairo", "2026-04-24"),
                                               ("America/Havana", "2026-11-01")])
def test_windows_lost_count_across_a_clock_change_at_midnight(zone, skipped):
    # Cairo skips its midnight of 24 April 2026 (00:00 -> 01:00); Havana repeats its midnight of
    # 1 November. The days still count, each from the first moment it has.
    day = pd.Timestamp(skipped)
    start = (day - pd.Timedelta(days=1) + pd.Timedelta(hours=9)).tz_localize(zone).tz_convert("UTC")
    end = (day + pd.Timedelta(days=1, hours=9)).tz_localize(zone).tz_convert("UTC")
    closes = (day + pd.Timedelta(hours=12)).tz_localize(zone).tz_convert("UTC")
    rows = [row(start, "X", unread=True, open_until=closes), row(end, "X", unread=True, open_until=None)]
    lost = tk.closed_unread_by_day(history(rows), by=None, tz=zone)
    assert [moment.tz_localize(None).normalize() for moment in lost.index] == [
        day - pd.Timedelta(days=1), day, day + pd.Timedelta(days=1)]
    assert lost["all"].tolist() == [0, 1, 0]
    axes = tk.plot_closed_unread(history(rows), by=None, tz=zone)
    assert [bar.get_height() for bar in axes.patches] == [0, 1, 0]
    snapshot = history(rows)
    latest = snapshot[snapshot["snapshot_at"] == end].drop(columns="snapshot_at").reset_index(drop=True)
    assert "<h2>Trends" in tk.build_report(latest, history=snapshot, tz=zone)  # it raised before


def test_windows_lost_of_an_empty_history_is_an_empty_table_whatever_the_grouping():
    empty = history([row(T1, "A", unread=True)]).iloc[:0]
    assert tk.closed_unread_by_day(empty, by=None).empty
    assert list(tk.closed_unread_by_day(empty, by=None).columns) == ["all"]
    assert tk.plot_closed_unread(empty, by=None).get_title().startswith("Reply windows lost")


def test_persistent_unread_reports_runs_of_consecutive_unread_snapshots(three_days):
    runs = tk.persistent_unread(three_days).set_index("conversation_id")
    assert set(runs.index) == {"A", "C", "D", "W"}  # B and E never stayed unread across two
    assert runs.loc["A", "snapshots"] == 3 and bool(runs.loc["A", "still_unread"])
    assert runs.loc["C", "snapshots"] == 3
    assert runs.loc["D", "snapshots"] == 2 and not bool(runs.loc["D", "still_unread"])
    # W's provider has two snapshots; W is unread in both, so it is still unread.
    assert runs.loc["W", "snapshots"] == 2 and bool(runs.loc["W", "still_unread"])
    assert runs.loc["A", "first_unread_at"] == T1 and runs.loc["A", "last_unread_at"] == T3
    assert list(runs.index[:2]) == ["A", "C"] or list(runs.index[:2]) == ["C", "A"]
    persistent = tk.persistent_unread(three_days, min_snapshots=3)["conversation_id"].tolist()
    assert persistent in (["A", "C"], ["C", "A"])


def test_a_missing_snapshot_breaks_a_run():
    t0 = T1 - pd.Timedelta(days=1)
    rows = [row(t0, "K", unread=True, open_until=t0 + HOUR), row(t0, "Z", unread=False, open_until=None),
            row(T1, "Z", unread=False, open_until=None),  # K absent from T1
            row(T2, "K", unread=True, open_until=T2 + HOUR), row(T3, "K", unread=True, open_until=T3 + HOUR)]
    runs = tk.persistent_unread(history(rows))
    assert runs["snapshots"].tolist() == [2]
    assert runs["first_unread_at"].tolist() == [T2]


def test_persistent_unread_names_each_contact_by_name_and_phone():
    # Two contacts of one name stay unread: only their phones tell them apart in the report.
    rows = [row(moment, name, unread=True, open_until=moment + HOUR) for moment in (T1, T2) for name in "KL"]
    for item in rows:
        item["contact_name"] = "Asha"
        item["contact_phone"] = "255700000011" if item["conversation_id"] == "K" else "255700000022"
    runs = tk.persistent_unread(history(rows)).set_index("conversation_id")
    assert runs["contact_phone"].to_dict() == {"K": "255700000011", "L": "255700000022"}


def test_persistent_unread_needs_only_the_columns_that_find_a_run():
    # A history of just the four columns a run is found from: the rest come back missing.
    bare = history([row(moment, "K", unread=True, count=3) for moment in (T1, T2)])[
        ["snapshot_at", "provider", "conversation_id", "has_unread"]]
    runs = tk.persistent_unread(bare)
    assert runs["snapshots"].tolist() == [2]
    assert runs[["channel_id", "contact_name", "contact_phone", "unread_count"]].isna().all().all()


def test_wait_trend_measures_each_snapshot_as_of_its_own_time():
    rows = [row(T1, "A", unread=True, open_until=T1 + HOUR, last_message_at=T1 - 1 * HOUR),
            row(T1, "B", unread=True, open_until=T1 + HOUR, last_message_at=T1 - 3 * HOUR),
            row(T1, "C", unread=False, open_until=T1 + HOUR, last_message_at=T1 - 9 * HOUR),
            row(T2, "A", unread=True, open_until=T2 + HOUR, last_message_at=T1 - 1 * HOUR)]
    trend = tk.wait_trend(history(rows), by=None, percentiles=(0.5,))
    assert trend["count"].tolist() == [2, 1]
    # T1: waits of 1 h and 3 h, median 2 h; T2: A has waited 25 h.
    assert trend["p50"].tolist() == pytest.approx([2.0, 25.0])


def test_freq_keeps_the_latest_snapshot_of_each_period_per_provider():
    early, late = T1, T1 + 6 * HOUR
    rows = [row(early, "A", unread=True, open_until=early + HOUR),
            row(early, "B", unread=True, open_until=early + HOUR),
            row(late, "A", unread=True, open_until=late + HOUR),
            row(late, "B", unread=False, open_until=None)]
    daily = tk.unread_trend(history(rows), by=None, freq="D")
    assert daily.index.get_level_values("snapshot_at").tolist() == [pd.Timestamp("2026-11-02", tz="UTC")]
    assert daily["unread_conversations"].tolist() == [1]
    with pytest.raises(ValueError, match="freq"):
        tk.unread_trend(history(rows), freq="fortnightly-ish")


def test_an_empty_history_gives_empty_results_not_errors():
    empty = history([row(T1, "A", unread=True)]).iloc[:0]
    assert tk.unread_trend(empty).empty
    assert tk.wait_trend(empty).empty
    assert tk.persistent_unread(empty).empty
    assert tk.closed_unread_by_day(empty).empty


def test_a_frame_without_snapshot_times_is_refused_clearly():
    with pytest.raises(KeyError, match="snapshot_at"):
        tk.unread_trend(tk.empty_frame())
    with pytest.raises(ValueError, match="min_snapshots"):
        tk.persistent_unread(history([row(T1, "A", unread=True)]), min_snapshots=0)


# -- freq: each provider's latest snapshot of a period, measured as of its own time ---------

DAY1, DAY2 = pd.Timestamp("2026-11-02", tz="UTC"), pd.Timestamp("2026-11-03", tz="UTC")


@pytest.fixture
def two_days_uneven():
    """Briq pulled at 09:00 and 17:00 on the 2nd and 10:00 on the 3rd; Wassist at 12:00 and 16:30.

    Waits (hours) in the snapshots ``freq="D"`` keeps, each as of its own time:

    - Briq 2nd 17:00: A 9 (since 08:00), B 2 (since 15:00), C 21 (since the 1st 20:00).
    - Wassist 2nd 12:00: W 6 (since 06:00).
    - Briq 3rd 10:00: A 26, D 3 (since 07:00). B was answered, C left the list.
    - Wassist 3rd 16:30: W 34.5.
    """
    b1, b2, b3 = DAY1 + 9 * HOUR, DAY1 + 17 * HOUR, DAY2 + 10 * HOUR
    w1, w2 = DAY1 + 12 * HOUR, DAY2 + 16.5 * HOUR
    a_at, c_at, w_at = DAY1 + 8 * HOUR, DAY1 - 4 * HOUR, DAY1 + 6 * HOUR
    rows = [
        row(b1, "A", unread=True, open_until=a_at + 24 * HOUR, last_message_at=a_at),
        row(b1, "B", unread=False, open_until=None, last_message_at=DAY1 - 14 * HOUR),
        row(b1, "C", unread=True, open_until=c_at + 24 * HOUR, last_message_at=c_at),
        row(b2, "A", unread=True, open_until=a_at + 24 * HOUR, last_message_at=a_at),
        row(b2, "B", unread=True, open_until=DAY1 + 39 * HOUR, last_message_at=DAY1 + 15 * HOUR),
        row(b2, "C", unread=True, open_until=c_at + 24 * HOUR, last_message_at=c_at),
        row(b3, "A", unread=True, open_until=None, last_message_at=a_at),
        row(b3, "B", unread=False, open_until=DAY1 + 39 * HOUR, last_message_at=DAY2 + 9 * HOUR),
        row(b3, "D", unread=True, open_until=DAY2 + 31 * HOUR, last_message_at=DAY2 + 7 * HOUR),
        row(w1, "W", unread=True, open_until=w_at + 24 * HOUR, last_message_at=w_at, provider="wassist",
            channel="a1"),
        row(w2, "W", unread=True, open_until=None, last_message_at=w_at, provider="wassist", channel="a1"),
    ]
    return history(rows)


def test_daily_waits_measure_each_kept_snapshot_at_its_own_time(two_days_uneven):
    daily = tk.wait_trend(two_days_uneven, by="provider", freq="D")
    assert daily.index.tolist() == [(DAY1, "wassist"), (DAY1, "briq"), (DAY2, "wassist"), (DAY2, "briq")]
    assert daily["count"].tolist() == [1, 3, 1, 2]
    # Briq on the 2nd, waits 2, 9, 21: median 9; p90 at rank 1.8 = 9 + 0.8 * 12 = 18.6.
    # Briq on the 3rd, waits 3, 26: median 14.5; p90 = 3 + 0.9 * 23 = 23.7.
    assert daily["p50"].tolist() == pytest.approx([6.0, 9.0, 34.5, 14.5])
    assert daily["p90"].tolist() == pytest.approx([6.0, 18.6, 34.5, 23.7])


def test_daily_waits_pool_providers_each_at_its_own_time(two_days_uneven):
    daily = tk.wait_trend(two_days_uneven, by=None, freq="D")
    # The 2nd: 2, 6, 9, 21 -> median 7.5, p90 at rank 2.7 = 9 + 0.7 * 12 = 17.4.
    # The 3rd: 3, 26, 34.5 -> median 26, p90 at rank 1.8 = 26 + 0.8 * 8.5 = 32.8.
    assert daily["count"].tolist() == [4, 3]
    assert daily["p50"].tolist() == pytest.approx([7.5, 26.0])
    assert daily["p90"].tolist() == pytest.approx([17.4, 32.8])
    assert (daily[["p50", "p90"]] > 0).all().all()


def test_daily_trends_equal_the_kept_snapshots_measured_alone(two_days_uneven):
    """With ``freq="D"`` a row is exactly the per-snapshot result of the snapshot it keeps."""
    kept = two_days_uneven[two_days_uneven["snapshot_at"].isin(
        [DAY1 + 17 * HOUR, DAY1 + 12 * HOUR, DAY2 + 10 * HOUR, DAY2 + 16.5 * HOUR])]
    for trend in (tk.wait_trend, tk.unread_trend):
        daily = trend(two_days_uneven, by="provider", freq="D")
        alone = trend(kept, by="provider")
        relabelled = alone.rename(index=lambda moment: moment.floor("D") if isinstance(moment, pd.Timestamp)
                                  else moment, level="snapshot_at").sort_index()
        pd.testing.assert_frame_equal(daily.sort_index(), relabelled)


def test_daily_carried_over_compares_with_the_previous_kept_snapshot(two_days_uneven):
    daily = tk.unread_trend(two_days_uneven, by="provider", freq="D")
    briq = daily.xs("briq", level="provider")
    # The 3rd 10:00 against the 2nd 17:00: A was unread in both; D is new.
    assert briq["unread_conversations"].tolist() == [3, 2]
    assert briq["carried_over"].tolist() == [0, 1]


def test_readable_days_of_another_zone_and_a_wide_table_by_channel(three_days):
    lost = tk.closed_unread_by_day(three_days, by="provider", tz="America/Los_Angeles")
    shown = tk.readable(lost, tz="Asia/Tokyo")
    # Los Angeles' days, as days: on Tokyo's clock they read as 17:00 the same day.
    assert shown.index.name == "Day (PST)"
    assert list(shown.index) == [f"{day:%Y-%m-%d}" for day in lost.index]
    wide = tk.closed_unread_by_day(three_days, by=["provider", "channel_id"])
    named = tk.readable(wide, channel_names={"a1": "Front Desk"})
    assert "Wassist · Front Desk" in named.columns
    assert not any(column.startswith("(") for column in named.columns)  # no Python tuples


# 09:00 UTC falls on the day before in Honolulu, on the same day in Kiritimati.
@pytest.mark.parametrize("zone", ["Pacific/Honolulu", "Pacific/Kiritimati"])
def test_a_trend_by_day_of_a_zone_counts_that_zones_days(three_days, zone):
    """The report's day charts agree: closed_unread_by_day(tz=) and the trends cut days alike."""
    both = (tk.unread_trend(three_days, freq="D", tz=zone), tk.wait_trend(three_days, freq="D", tz=zone))
    for trend in both:
        days = trend.index.get_level_values(0).unique()
        expected = pd.DatetimeIndex(sorted({moment.tz_convert(zone).normalize() for moment in (T1, T2, T3)}))
        assert list(days) == list(expected)
        assert str(days.tz) == zone
    lost = tk.closed_unread_by_day(three_days, tz=zone)
    assert set(tk.unread_trend(three_days, freq="D", tz=zone).index.get_level_values(0)) <= set(lost.index)
    assert tk.readable(tk.unread_trend(three_days, freq="D", tz=zone)).index.names[0].startswith("Day (")


@pytest.mark.parametrize("freq", ["-1D", "0h", "-6h"])
def test_a_period_that_is_not_positive_is_refused(three_days, freq):
    for trend in (tk.unread_trend, tk.wait_trend):
        with pytest.raises(ValueError, match="positive period"):
            trend(three_days, freq=freq)


def test_days_written_in_lower_case_are_days(three_days):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lower = tk.unread_trend(three_days, freq="d")
    pd.testing.assert_frame_equal(lower, tk.unread_trend(three_days, freq="D"))


def test_snapshot_moments_without_a_zone_are_utc_in_every_trend(three_days):
    naive = three_days.assign(snapshot_at=three_days["snapshot_at"].dt.tz_convert("UTC").dt.tz_localize(None))
    pd.testing.assert_frame_equal(tk.unread_trend(naive), tk.unread_trend(three_days))
    pd.testing.assert_frame_equal(tk.wait_trend(naive), tk.wait_trend(three_days))
    pd.testing.assert_frame_equal(tk.closed_unread_by_day(naive), tk.closed_unread_by_day(three_days))
    pd.testing.assert_frame_equal(tk.persistent_unread(naive), tk.persistent_unread(three_days))


@pytest.mark.parametrize("broken, said", [("missing", "missing on"),
                                          ("text", "'soon', which is not a moment")])
def test_snapshot_moments_missing_or_unreadable_are_named(three_days, broken, said):
    moments = three_days["snapshot_at"]
    history = three_days.assign(snapshot_at=moments.where(moments < moments.max()) if broken == "missing"
                                else moments.astype(str).where(moments < moments.max(), "soon"))
    for trend in (tk.unread_trend, tk.wait_trend, tk.closed_unread_by_day, tk.persistent_unread):
        with pytest.raises(ValueError, match=said):
            trend(history)


def test_snapshot_moments_as_iso_text_read_as_moments(three_days):
    # A history read back from CSV: the moments are text, as conform reads times.
    text = three_days.assign(snapshot_at=three_days["snapshot_at"].map(lambda moment: moment.isoformat()))
    pd.testing.assert_frame_equal(tk.unread_trend(text), tk.unread_trend(three_days))
    pd.testing.assert_frame_equal(tk.persistent_unread(text), tk.persistent_unread(three_days))
