"""What people read: the report's numbers, names and clock times, and tables written for people.

Every expected value is computed here from the frame or the metrics by an independent
route (plain arithmetic, pandas' own time zone conversion), never copied from the output.
"""

from __future__ import annotations

import html
import re
import warnings
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import toolkit as tk  # noqa: E402

DAR = "Africa/Dar_es_Salaam"


@pytest.fixture
def pulled(sandbox) -> pd.DataFrame:
    return tk.load_conversations({
        "briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url, "progress": False},
        "wassist": {"api_key": sandbox.config.wassist_key, "base_url": sandbox.base_url, "progress": False}})


def named(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``df`` with a ``channel_name`` column holding ``names`` for the channels it knows."""
    result = df.copy()
    result["channel_name"] = result["channel_id"].astype(object).map(names).astype("string")
    return result


def cells(page: str, heading: str) -> list[list[str]]:
    """The body cells of the first table after ``heading``, as text."""
    section = page[page.index(heading):]
    table = section[section.index("<tbody>"):section.index("</tbody>")]
    return [[html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)]


def test_summary_tables_show_the_metrics_with_separators_and_percentages(pulled):
    page = tk.build_report(pulled)
    rows = {row[0]: row for row in cells(page, "Unread backlog by provider</h2>")}
    for provider, label in (("wassist", "Wassist"), ("briq", "Briq")):
        part = pulled[pulled["provider"] == provider]
        unread = int(part["has_unread"].sum())
        messages = part["unread_count"].sum() if part["unread_count"].notna().any() else None
        expected = [label, f"{len(part):,}", f"{unread:,}", f"{100 * unread / len(part):.1f}%",
                    "" if messages is None else f"{int(messages):,}"]
        assert rows[label] == expected
    unread = int(pulled["has_unread"].sum())
    assert rows["All providers"][:4] == ["All providers", f"{len(pulled):,}", f"{unread:,}",
                                         f"{100 * unread / len(pulled):.1f}%"]
    assert "unread_conversations" not in page and "unread_share" not in page


def test_expiry_table_counts_every_window_once(pulled):
    page = tk.build_report(pulled)
    rows = cells(page, "Reply windows by time left</h2>")
    total = rows[-1]
    assert total[0] == "All providers"
    assert sum(int(value.replace(",", "")) for value in total[1:]) == len(pulled)
    buckets = tk.window_bucket(pulled)
    assert total[1] == f"{int((buckets == 'closed').sum()):,}"


def test_report_times_are_on_the_chosen_clock_and_say_so(pulled, monkeypatch):
    risky = tk.at_risk(pulled, within="2h")
    assert len(risky) > 0
    expected = risky["last_message_at"].dt.tz_convert(DAR).dt.strftime("%Y-%m-%d %H:%M").tolist()
    for page in (tk.build_report(pulled, tz=DAR), _with_env(monkeypatch, DAR, pulled)):
        rows = cells(page, "Unread conversations whose reply window closes")
        assert [row[5] for row in rows] == expected
        assert "Last message (EAT)" in page and "Times in Africa/Dar_es_Salaam (UTC+03:00)" in page
    monkeypatch.delenv("WA_TOOLKIT_TZ")
    page = tk.build_report(pulled)
    assert [row[5] for row in cells(page, "Unread conversations whose reply window closes")] == \
        risky["last_message_at"].dt.strftime("%Y-%m-%d %H:%M").tolist()
    assert "Times in UTC" in page


def _with_env(monkeypatch, zone: str, df: pd.DataFrame) -> str:
    monkeypatch.setenv("WA_TOOLKIT_TZ", zone)
    return tk.build_report(df)


def test_an_unknown_zone_is_a_value_error(pulled):
    with pytest.raises(ValueError, match="IANA"):
        tk.build_report(pulled, tz="Mars/Olympus_Mons")


def test_report_shows_channels_by_name_else_by_a_short_id(pulled):
    risky = tk.at_risk(pulled, within="24h")
    named_id, unnamed_id = risky["channel_id"].drop_duplicates().iloc[:2]
    df = named(pulled, {named_id: "Amani Support"})
    df.loc[df["channel_id"] == unnamed_id, "channel_name"] = pd.NA
    page = tk.build_report(df, within="24h")
    channels = [row[3] for row in cells(page, "Unread conversations whose reply window closes")]
    by_id = dict(zip(tk.at_risk(df, within="24h")["channel_id"], channels, strict=False))
    assert by_id[named_id] == "Amani Support"
    assert by_id[unnamed_id] == unnamed_id[:8] + "…"
    assert unnamed_id not in page


def test_card_values_stay_on_one_line_and_units_stay_with_numbers(pulled):
    page = tk.build_report(pulled)
    assert "windows closing within 1\u00a0h" in page and "closes within 2\u00a0h" in page
    assert re.search(r"\.card \.value\{[^}]*white-space:nowrap", page)


def test_readable_writes_numbers_for_people_and_leaves_the_frame_alone():
    frame = pd.DataFrame({
        "unread_conversations": pd.array([1411, 3], dtype="int64"),
        "unread_share": [0.401667, 0.0],
        "unread_messages": pd.array([pd.NA, 12000], dtype="Int64"),
        "window_remaining": pd.to_timedelta(["0 days 00:10:32.97", "1 days 02:05:00"]),
        "last_message_at": pd.to_datetime(["2026-11-30 21:30:00", "2026-11-30 22:10:00"], utc=True),
        "has_unread": pd.array([True, pd.NA], dtype="boolean"),
    }, index=pd.Index(["wassist", "briq"], name="provider"))
    before = frame.copy()
    shown = tk.readable(frame, tz=DAR)
    pd.testing.assert_frame_equal(frame, before)
    assert list(shown.columns) == ["Unread conversations", "Unread share", "Unread messages", "Time left",
                                   "Last message (EAT)", "Unread"]
    assert shown.index.name == "Provider" and list(shown.index) == ["Wassist", "Briq"]
    assert shown.to_dict("list") == {
        "Unread conversations": ["1,411", "3"],
        "Unread share": ["40.2%", "0.0%"],
        "Unread messages": ["", "12,000"],
        "Time left": ["11 min", "26 h 05 min"],
        "Last message (EAT)": ["2026-12-01 00:30", "2026-12-01 01:10"],
        "Unread": ["yes", ""],
    }


def test_readable_takes_the_toolkits_series_and_list_cells(pulled):
    """Every result the README says it writes for people, a series or a checks table included."""
    waits = tk.readable(tk.unread_wait(pulled))
    assert list(waits.columns) == ["Unread wait"] and len(waits) == len(pulled)
    left = tk.readable(tk.window_remaining(pulled))
    assert left.iloc[:, 0].str.fullmatch(r"(\d+ h \d{2} min|<?\d+ min|)").all()
    checks = tk.check_conversations(pulled.head(20).assign(contact_phone="12"))
    shown = tk.readable(checks)
    listed = checks["examples"][checks["examples"].map(len) > 0]
    assert len(listed)  # a check with offending rows lists them, as text
    for check, examples in listed.items():
        assert shown.loc[check, "Examples"] == ", ".join(map(str, examples))
    with pytest.raises(TypeError, match="DataFrame or a Series, got list"):
        tk.readable([1, 2])
    with pytest.raises(TypeError, match="channel_names must be"):
        tk.readable(pulled, channel_names=5)
    with pytest.raises(ValueError, match=r"one column of each name; \['unread_count'\] appear"):
        tk.readable(pulled[["provider", "unread_count", "unread_count"]])
    by_channel = tk.unread_summary(pulled, by="channel_id")
    first = by_channel.index[0]
    named = tk.readable(by_channel, channel_names=pd.Series({first: "Front Desk"}))
    assert named.index[0] == "Front Desk"


def test_readable_writes_window_bands_in_words_as_values_and_as_an_index(pulled):
    bands = tk.window_bucket(pulled)
    words = {"closed": "Closed", "<1h": "Under 1 h", "1-4h": "1–4 h", "4-12h": "4–12 h", "12-24h": "12–24 h"}
    shown = tk.readable(bands)
    assert list(shown.columns) == ["Window"]
    expected = bands.astype(object).map(lambda band: "" if pd.isna(band) else words[band])
    assert shown["Window"].tolist() == expected.tolist()
    counted = tk.readable(pulled.assign(band=bands).groupby(["provider", "band"], observed=False).size()
                          .rename_axis(["provider", "window_bucket"]))
    assert counted.index.names == ["Provider", "Window"]
    assert set(counted.index.get_level_values("Window")) == set(words.values())
    assert set(counted.index.get_level_values("Provider")) == {"Wassist", "Briq"}


def test_a_window_with_seconds_left_is_not_shown_as_none_left():
    left = pd.to_timedelta(["4.9s", "0s", "30s", "40s", "89s"])
    shown = tk.readable(pd.DataFrame({"window_remaining": left}))
    assert shown["Time left"].tolist() == ["<1 min", "0 min", "<1 min", "1 min", "1 min"]


def test_readable_of_a_unified_frame_names_channels(pulled):
    df = named(pulled.head(5), {pulled["channel_id"].iloc[0]: "Front Desk"})
    shown = tk.readable(df)
    assert shown["Channel"].iloc[0] == "Front Desk"
    assert "Channel name" not in shown.columns and len(shown) == 5


def test_wait_chart_bars_are_the_counts_per_band_and_the_legend_names_each_group(pulled):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    tk.plot_unread_wait(pulled, ax=ax)
    hours = (pulled["fetched_at"].max() - pulled["last_message_at"]) / pd.Timedelta(hours=1)
    unread = pulled[pulled["has_unread"].fillna(False) & hours.notna()]
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == [f"{name} ({count:,} unread)" for name, count in
                      (("Wassist", int((unread["provider"] == "wassist").sum())),
                       ("Briq", int((unread["provider"] == "briq").sum())))]
    edges = [0, 1, 4, 12, 24, 48, 168, float("inf")]
    heights = [patch.get_height() for patch in ax.patches if patch.get_width() < 0.5]
    expected = []
    for provider in ("wassist", "briq"):
        waits = hours[unread.index][unread["provider"] == provider]
        expected += [int(((waits >= low) & (waits < high)).sum())
                     for low, high in zip(edges, edges[1:], strict=False)]
    assert heights == expected
    plt.close(figure)


def test_expiry_timeline_ticks_are_whole_hours_of_the_local_clock(pulled):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    tk.plot_expiry_timeline(pulled, ax=ax, tz=DAR)
    start = pulled["fetched_at"].max().tz_convert(DAR)
    for position, label in zip(ax.get_xticks(), [t.get_text() for t in ax.get_xticklabels()], strict=False):
        moment = start + pd.Timedelta(hours=float(position))
        assert label == f"{moment.round('min'):%H:%M}" and label.endswith(":00")
    assert "(EAT)" in ax.get_xlabel()
    plt.close(figure)


def test_charts_name_channels(pulled):
    import matplotlib.pyplot as plt

    channel = pulled["channel_id"].iloc[0]
    df = named(pulled, {channel: "Kilimanjaro Desk"})
    figure, ax = plt.subplots()
    tk.plot_unread_backlog(df, ax=ax)
    labels = [text.get_text() for text in ax.get_yticklabels()]
    provider = {"wassist": "Wassist", "briq": "Briq"}[pulled["provider"].iloc[0]]
    assert f"Kilimanjaro Desk · {provider}" in labels
    assert not any(len(label.split(" · ")[0]) > 24 for label in labels)
    plt.close(figure)


def test_readable_names_channels_and_times_in_the_index(pulled):
    channel = pulled["channel_id"].iloc[0]
    df = named(pulled, {channel: "Front Desk"})
    summary = tk.unread_summary(df, by=["provider", "channel_id"])
    shown = tk.readable(summary, channel_names=df)
    assert shown.index.names == ["Provider", "Channel"]
    provider = {"wassist": "Wassist", "briq": "Briq"}[df["provider"].iloc[0]]
    assert (provider, "Front Desk") in shown.index
    row = shown.loc[(provider, "Front Desk")]
    mine = df[df["channel_id"] == channel]
    assert row["Conversations"] == f"{len(mine):,}"
    timeline = tk.expiry_timeline(df)
    local = tk.readable(timeline.to_frame("closing"), tz=DAR)
    assert local.index.name == "Interval start (EAT)"
    assert list(local.index) == timeline.index.tz_convert(DAR).strftime("%Y-%m-%d %H:%M").tolist()


def test_count_axes_tick_whole_numbers_only(pulled):
    import matplotlib.pyplot as plt

    # Three windows: matplotlib alone would tick every 0.5 and label 2.5 as "2".
    as_of = pulled["fetched_at"].max()
    closing = pulled[pulled["window_open"].fillna(False)
                     & (pulled["window_expires_at"] > as_of + pd.Timedelta(minutes=5))
                     & (pulled["window_expires_at"] < as_of + pd.Timedelta(hours=23))]
    assert len(closing) >= 3
    figure, ax = plt.subplots()
    tk.plot_expiry_timeline(closing.head(3), as_of=as_of, ax=ax)
    figure.canvas.draw()
    ticks = [tick for tick in ax.get_yticks() if ax.get_ylim()[0] <= tick <= ax.get_ylim()[1]]
    labels = {tick: label.get_text()
              for tick, label in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)}
    assert ticks and all(float(tick).is_integer() for tick in ticks)
    assert all(labels[tick] == f"{int(tick):,}" for tick in ticks)
    plt.close(figure)


@pytest.mark.parametrize("within, said", [("2h", "2 h"), (pd.Timedelta(minutes=90), "1 h 30 min")])
def test_the_at_risk_chart_writes_its_horizon_as_the_report_does(pulled, within, said):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    tk.plot_at_risk(pulled, within=within, ax=ax)
    assert f"closes within {said}" in ax.get_title()
    plt.close(figure)


def test_a_report_of_two_loaders_frames_put_end_to_end_is_the_combined_pulls(pulled):
    # pd.concat([tk.load_wassist(), tk.load_briq()]) repeats row labels.
    parts = [pulled[pulled["provider"] == name].reset_index(drop=True) for name in ("wassist", "briq")]
    joined = pd.concat(parts)
    assert joined.index.has_duplicates
    assert tk.build_report(joined) == tk.build_report(pd.concat(parts, ignore_index=True))


def test_a_report_of_rows_without_fetch_times_says_so(pulled):
    page = tk.build_report(pulled.assign(fetched_at=pd.NaT))
    assert "unknown (the rows say no fetch time)" in page


def test_readable_writes_dates_without_a_zone_as_dates():
    # SQL's DATE comes back as naive midnights: days, which another zone's clock must not move.
    days = pd.DataFrame({"date": pd.to_datetime(["2026-11-26", "2026-11-27", None]), "unread": [3, 4, 5]})
    shown = tk.readable(days, tz="America/Los_Angeles")
    assert list(shown.columns) == ["Date", "Unread"]
    assert shown["Date"].tolist()[:2] == ["2026-11-26", "2026-11-27"]
    # Moments without a zone are UTC moments, shown on the asked clock as before, midnights too.
    moments = pd.DataFrame({"at": pd.to_datetime(["2026-11-26 10:00", "2026-11-27 00:00"])})
    assert tk.readable(moments, tz="UTC")["At (UTC)"].tolist() == ["2026-11-26 10:00", "2026-11-27 00:00"]
    midnight = pd.DataFrame({"last_message_at": pd.to_datetime(["2026-11-26 00:00"])})
    shown = tk.readable(midnight, tz="America/Los_Angeles")
    assert shown["Last message (PST)"].tolist() == ["2026-11-25 16:00"]


def test_readable_shows_snapshots_in_the_hour_a_clock_change_repeats():
    moments = pd.DatetimeIndex(["2024-10-27 00:30Z", "2024-10-27 01:30Z"], name="snapshot_at")
    trend = pd.DataFrame({"conversations": [1, 2]}, index=moments)
    shown = tk.readable(trend, tz="Europe/Berlin")  # 02:30 twice on Berlin's clock that night
    assert shown["Conversations"].tolist() == ["1", "2"]


def test_readable_keeps_apart_snapshots_taken_in_one_minute(pulled, tmp_path):
    moment = pulled["fetched_at"].max().floor("min")
    for seconds in (5, 40):  # a snapshot, then an incremental one half a minute later
        tk.save_snapshot(pulled, tmp_path, snapshot_at=moment + pd.Timedelta(seconds=seconds))
    shown = tk.readable(tk.unread_trend(tk.load_snapshots(tmp_path)))
    assert shown.index.get_level_values(0).nunique() == 2  # two moments, not one listed twice
    # Minutes apart, they stay to the minute.
    apart = tmp_path / "apart"
    for minutes in (0, 3):
        tk.save_snapshot(pulled, apart, snapshot_at=moment + pd.Timedelta(minutes=minutes))
    labels = tk.readable(tk.unread_trend(tk.load_snapshots(apart))).index.get_level_values(0)
    assert labels.nunique() == 2 and all(len(label) == len("2026-12-03 05:47") for label in labels)


def test_trend_charts_of_snapshots_minutes_apart_keep_a_readable_clock(pulled, tmp_path):
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    moment = pulled["fetched_at"].max()
    for minutes in (0, 3):
        tk.save_snapshot(pulled, tmp_path, snapshot_at=moment + pd.Timedelta(minutes=minutes))
    history = tk.load_snapshots(tmp_path)
    for plot in (tk.plot_unread_trend, tk.plot_wait_trend, tk.plot_closed_unread):
        figure, ax = plt.subplots()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plot(history, ax=ax)
            figure.canvas.draw()
        assert not [str(warning.message) for warning in caught], plot.__name__  # matplotlib's locator gave up
        low, high = ax.get_xlim()
        assert high - low <= 5, plot.__name__  # days, not the years matplotlib widens one moment to
        if plot is not tk.plot_closed_unread:  # (its x is the day a window closed)
            # The two snapshots, three minutes apart, lie far apart on the axis, not in one stack.
            drawn = sorted({float(x) for line in ax.get_lines() for x in mdates.date2num(line.get_xdata())})
            assert (drawn[-1] - drawn[0]) / (high - low) > 0.5, (plot.__name__, drawn, low, high)
        labels = [label.get_text() for label in ax.get_yticklabels()]
        assert "-0" not in labels and "−0" not in labels, (plot.__name__, labels)
        # A line of one point draws nothing without a marker.
        assert all(line.get_marker() == "o" for line in ax.get_lines() if len(line.get_xdata()) == 1)
        plt.close(figure)


def test_the_backlog_total_says_whose_unread_messages_it_counts(pulled):
    page = tk.build_report(pulled)
    section = page[page.index("Unread backlog by provider</h2>"):page.index("Reply windows by time left")]
    assert "Wassist sends no count of unread messages" in section
    assert "Wassist sends no count" not in tk.build_report(pulled[pulled["provider"] == "briq"])


def test_an_empty_at_risk_list_says_when_the_next_window_closes(pulled):
    as_of = pulled["fetched_at"].max()
    unread_open = pulled[pulled["has_unread"].fillna(False) & pulled["window_open"].fillna(False)]
    left = (unread_open["window_expires_at"] - as_of).dropna()
    later = left[left > pd.Timedelta(0)]
    assert len(later), "the sandbox's data has unread open windows"
    # A horizon shorter than the soonest window: the list is empty, the next closing is named.
    within = f"{max(1, int(later.min().total_seconds() // 2))}s"
    page = tk.build_report(pulled, within=within)
    assert "None right now. The next unread conversation's window closes in" in page
    assert f"{int((later <= pd.Timedelta(hours=24)).sum()):,} close within 24" in page


def test_the_backlog_legend_covers_no_bar_label(pulled):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(8, 3.5))
    tk.plot_unread_backlog(pulled, ax=ax)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    labels = [text.get_window_extent(renderer) for text in ax.texts]
    assert labels and not any(legend.overlaps(label) for label in labels)
    plt.close(figure)


def test_a_pull_within_one_second_is_shown_as_one_moment(pulled):
    moment = pd.Timestamp("2026-12-02 02:16:35.250", tz="UTC")
    page = tk.build_report(pulled.assign(fetched_at=moment), as_of=moment)
    # The header says the date once, as "As of" words it; the pull's time to the second.
    assert "As of Wed 02 Dec 2026, 02:16 UTC · data pulled 02:16:35 UTC" in page
    assert "02:16:35 – 02:16:35" not in page and "2026-12-02" not in page.split("</header>")[0]
    earlier = tk.build_report(pulled.assign(fetched_at=moment), as_of=moment + pd.Timedelta(days=1))
    assert "As of Thu 03 Dec 2026, 02:16 UTC · data pulled Wed 02 Dec 2026, 02:16:35 UTC" in earlier


def test_the_wait_chart_leaves_room_for_its_counts_and_the_closed_band_words(pulled):
    import matplotlib.pyplot as plt

    # The tallest bars in the shaded band, under its words (as in an inbox with an old backlog).
    old = pulled.copy()
    unread = old["has_unread"].fillna(False).to_numpy(dtype=bool)
    old.loc[unread, "last_message_at"] = old["fetched_at"].max() - pd.Timedelta(days=3)
    figure, ax = plt.subplots(figsize=(8, 3.5))
    tk.plot_unread_wait(old, ax=ax)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    words = next(text for text in ax.texts if text.get_text().startswith("window closed"))
    band_words = words.get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in ax.patches
            if patch.get_width() < 0.5 and patch.get_height() > 0]  # not the shaded band
    assert bars and not any(band_words.overlaps(bar) for bar in bars)
    axes_box = ax.get_window_extent(renderer)
    counts = [text.get_window_extent(renderer) for text in ax.texts if text is not words]
    assert counts and all(count.y1 <= axes_box.y1 for count in counts)
    plt.close(figure)


def test_the_24_hour_mark_of_the_wait_trend_stays_readable_over_its_lines(pulled, tmp_path):
    import matplotlib.pyplot as plt

    moment = pulled["fetched_at"].max()
    for days in (0, 1, 2):
        tk.save_snapshot(pulled, tmp_path, snapshot_at=moment + pd.Timedelta(days=days))
    figure, ax = plt.subplots()
    tk.plot_wait_trend(tk.load_snapshots(tmp_path), ax=ax)
    mark = next(text for text in ax.texts if text.get_text().startswith("24 h"))
    ground = mark.get_bbox_patch()
    # Drawn over the lines, on an opaque-enough white ground.
    assert ground is not None and ground.get_facecolor()[:3] == (1.0, 1.0, 1.0) and ground.get_alpha() >= 0.8
    assert mark.get_zorder() > max(line.get_zorder() for line in ax.get_lines())
    plt.close(figure)


def test_the_24_hour_mark_is_inside_the_chart_when_every_wait_is_shorter(pulled, tmp_path):
    # Waits of 15 to 16 hours: the axis stopped just above the 24 h line, its words cut in half.
    import matplotlib.pyplot as plt

    moment = pulled["fetched_at"].max()
    recent = pulled.assign(last_message_at=moment - pd.Timedelta(hours=15))
    for days in (0, 1):
        tk.save_snapshot(recent, tmp_path, snapshot_at=moment + pd.Timedelta(hours=days))
    figure, ax = plt.subplots(figsize=(6.6, 4.1), layout="constrained")  # as in the report
    tk.plot_wait_trend(tk.load_snapshots(tmp_path), ax=ax)
    figure.canvas.draw()
    mark = next(text for text in ax.texts if text.get_text().startswith("24 h"))
    assert mark.get_window_extent().y1 <= ax.get_window_extent().y1
    plt.close(figure)


def legend_looks(ax) -> dict[str, tuple[str, str]]:
    """Each legend entry's group (the label before a comma) and its colour and round of colours."""
    import matplotlib.colors as mcolors

    looks = {}
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
        # A further round of colours: the second marker of lines, the second hatching of bars.
        if hasattr(handle, "get_color"):
            look = (mcolors.to_hex(handle.get_color()), "first" if handle.get_marker() == "o" else "further")
        else:
            hatch = handle.patches[0].get_hatch()
            look = (mcolors.to_hex(handle.patches[0].get_facecolor()), "further" if hatch else "first")
        looks[label.split(",")[0].split(" (")[0]] = look
    return looks


# Wassist's colour and its lighter and darker shades; Briq's. Okabe-Ito's blue, sky blue and
# orange, vermillion, with a darker one of each: independent of the code's own table.
BLUES = {"#0072b2", "#56b4e9", "#003f63"}
ORANGES = {"#e69f00", "#d55e00", "#7a4a00"}


def test_a_channel_wears_a_shade_of_its_providers_colour_and_keeps_it_from_chart_to_chart(pulled, tmp_path):
    """Channels by provider: Wassist's in blues, Briq's in oranges, each channel alike in every
    chart (the trend ordered by backlog, the wait trend by group, the bars stacked), also when
    a chart leaves out a channel another one keeps."""
    import matplotlib.pyplot as plt

    moment = pulled["fetched_at"].max()
    channels = pulled.groupby(["provider", "channel_id"], observed=True).size()
    # The first Wassist channel (in the order of names) is in the day's first snapshot only:
    # the daily trends keep each day's last snapshot and leave it out; the closings keep it.
    retired = sorted(pulled.loc[pulled["provider"] == "wassist", "channel_id"].unique())[0]
    tk.save_snapshot(pulled, tmp_path, snapshot_at=moment)
    later = moment + pd.Timedelta(hours=1)
    tk.save_snapshot(pulled[pulled["channel_id"] != retired], tmp_path, snapshot_at=later)
    history = tk.load_snapshots(tmp_path)
    by = ["provider", "channel_id"]
    looks_in = {}
    for plot in (tk.plot_unread_trend, tk.plot_wait_trend, tk.plot_closed_unread):
        figure, ax = plt.subplots()
        plot(history, by=by, ax=ax, **({} if plot is tk.plot_closed_unread else {"freq": "D"}))
        looks_in[plot.__name__] = legend_looks(ax)
        plt.close(figure)
    closings, trend = looks_in["plot_closed_unread"], looks_in["plot_unread_trend"]
    assert len(closings) == len(channels) and len(trend) == len(channels) - 1  # the retired one left out
    assert len(set(closings.values())) == len(closings)  # one look a channel
    for label, (colour, _) in closings.items():
        assert colour in (BLUES if label.endswith("Wassist") else ORANGES), label
    for name in ("plot_unread_trend", "plot_wait_trend"):
        assert looks_in[name] == {label: closings[label] for label in looks_in[name]}, name


def test_a_channel_keeps_its_providers_shade_when_grouped_by_channel_alone(pulled):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    unnamed = pulled.assign(channel_name=pd.Series(pd.NA, index=pulled.index, dtype="string"))  # ids shown
    tk.plot_unread_wait(unnamed, by="channel_id", ax=ax)
    provider_of = pulled.drop_duplicates("channel_id").set_index("channel_id")["provider"]
    looks = legend_looks(ax)
    assert len(looks) == provider_of.size
    for channel, provider in provider_of.items():
        colour, _ = next(look for label, look in looks.items() if label.startswith(str(channel)[:8]))
        assert colour in (BLUES if provider == "wassist" else ORANGES), channel
    plt.close(figure)


def test_groups_other_than_providers_never_wear_a_providers_colour(pulled):
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    # Channels made to span both providers: they belong to neither, so wear neither's colours.
    mixed = pulled.assign(channel_id=[f"channel-{number % 3}" for number in range(len(pulled))])
    figure, ax = plt.subplots()
    tk.plot_unread_wait(mixed, by="channel_id", ax=ax)
    worn = {mcolors.to_hex(patch.get_facecolor()) for patch in ax.patches if patch.get_width() < 0.5}
    assert len(worn) == 3 and not worn & (BLUES | ORANGES)
    ax.clear()
    tk.plot_unread_wait(pulled, by="provider", ax=ax)
    worn = {mcolors.to_hex(patch.get_facecolor()) for patch in ax.patches if patch.get_width() < 0.5}
    assert worn == {"#0072b2", "#e69f00"}
    plt.close(figure)


def test_more_groups_than_colours_still_look_different(pulled, tmp_path):
    """Eight channels of both providers, four colours (Okabe-Ito's eight without the
    providers' four): the lines of the second round of colours have their own markers and
    line styles, so no two channels look alike in the chart or its legend."""
    import matplotlib.pyplot as plt

    eight = pulled.assign(channel_id=[f"channel-{number % 8}" for number in range(len(pulled))],
                          has_unread=True)
    moment = pulled["fetched_at"].max()
    for days in (0, 1):
        tk.save_snapshot(eight, tmp_path, snapshot_at=moment + pd.Timedelta(days=days))
    figure, ax = plt.subplots()
    tk.plot_unread_trend(tk.load_snapshots(tmp_path), by="channel_id", ax=ax)
    looks = [(line.get_color(), line.get_marker(), line.get_linestyle()) for line in ax.get_lines()]
    assert len(looks) == 8 and len(set(looks)) == 8
    assert len({colour for colour, _, _ in looks}) == 4
    plt.close(figure)


def test_a_report_over_snapshots_minutes_apart_shows_each_and_a_provider_missing_from_one_as_a_gap(
        pulled, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from toolkit import plots

    periods = []
    drawn = plots.plot_unread_trend

    def noting_the_period(*args, **kwargs):
        periods.append(kwargs.get("freq"))
        return drawn(*args, **kwargs)

    monkeypatch.setattr(plots, "plot_unread_trend", noting_the_period)
    moment = pulled["fetched_at"].max()
    for minutes in (0, 10, 20):
        tk.save_snapshot(pulled, tmp_path, snapshot_at=moment + pd.Timedelta(minutes=minutes))
    briq_only = pulled[pulled["provider"] == "briq"]
    tk.save_snapshot(briq_only, tmp_path, snapshot_at=moment + pd.Timedelta(minutes=30), providers=["briq"])
    history = tk.load_snapshots(tmp_path)
    page = tk.build_report(pulled, history=history)
    assert "Trends over 4 snapshots" in page
    assert periods == [None, None]  # every snapshot: a day would fold the four into one point
    days_apart = tmp_path / "days"
    days_apart.mkdir()
    for days in (0, 1, 2):
        tk.save_snapshot(pulled, days_apart, snapshot_at=moment + pd.Timedelta(days=days))
    tk.build_report(pulled, history=tk.load_snapshots(days_apart))
    assert periods[2:] == ["D", "D"]
    figure, ax = plt.subplots()
    tk.plot_unread_trend(history, by="provider", ax=ax)
    lines = {line.get_label(): line for line in ax.get_lines()}
    wassist = [value for value in lines["Wassist"].get_ydata()]
    briq = [value for value in lines["Briq"].get_ydata()]
    assert len(briq) == len(wassist) == 4 and not any(pd.isna(briq))
    # Wassist was not pulled for the last snapshot: no point there, rather than a fall to 0.
    assert pd.isna(wassist[-1]) and wassist[-2] == wassist[0] > 0
    plt.close(figure)


def test_trends_ending_before_the_reports_own_pull_say_so(pulled, tmp_path):
    moment = pulled["fetched_at"].max()
    tk.save_snapshot(pulled, tmp_path, snapshot_at=moment - pd.Timedelta(hours=3))
    older = tk.build_report(pulled, history=tk.load_snapshots(tmp_path))
    assert "these trends end with the last snapshot" in older
    tk.save_snapshot(pulled, tmp_path, snapshot_at=moment)  # the pull itself, saved
    assert "these trends end with the last snapshot" not in tk.build_report(
        pulled, history=tk.load_snapshots(tmp_path))
    # The folder itself, as report --history takes it, is the same history.
    for folder in (tmp_path, str(tmp_path)):
        assert tk.build_report(pulled, history=folder, as_of=moment) == tk.build_report(
            pulled, history=tk.load_snapshots(tmp_path), as_of=moment)


def test_a_simulated_history_claims_to_end_with_the_pull_only_when_it_does(pulled, tmp_path):
    from toolkit.sandbox._history import SIMULATED

    moment = pulled["fetched_at"].max()
    simulated = pulled.copy()
    simulated.attrs = {"pulls": {name: {**record, SIMULATED: True}
                                 for name, record in pulled.attrs["pulls"].items()}}
    tk.save_snapshot(simulated, tmp_path, snapshot_at=moment - pd.Timedelta(days=1))
    earlier = tk.build_report(pulled, history=tk.load_snapshots(tmp_path))
    assert "Simulated history:" in earlier and "the latest one is the pull above" not in earlier
    # Its last points are another moment's numbers; no advice to save pulls into a simulation.
    assert "these trends end with the last snapshot" in earlier and "wa-toolkit snapshot" not in earlier
    tk.save_snapshot(simulated, tmp_path, snapshot_at=moment)  # as the demo's history ends
    ending = tk.build_report(pulled, history=tk.load_snapshots(tmp_path))
    assert "the latest one is the pull above" in ending and "these trends end with" not in ending
    tk.save_snapshot(simulated, tmp_path, snapshot_at=moment + pd.Timedelta(days=1))  # past the pull
    later = tk.build_report(pulled, history=tk.load_snapshots(tmp_path))
    assert "the latest one is the pull above" not in later


def test_a_report_given_a_frame_without_snapshots_as_history_says_what_to_pass(pulled, tmp_path):
    expected = (r"lacks unified column\(s\) \['snapshot_at'\]; "
                "a history of snapshots: load it with tk.load_snapshots")
    with pytest.raises(KeyError, match=expected):
        tk.write_report(pulled, tmp_path / "report.html", history=pulled)
    assert not list(tmp_path.iterdir())  # nothing written


def test_trend_charts_of_snapshots_seconds_apart_and_of_a_history_without_unread(pulled, tmp_path):
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    moment = pulled["fetched_at"].max()
    for seconds in (0, 2):
        tk.save_snapshot(pulled, tmp_path / "seconds", snapshot_at=moment + pd.Timedelta(seconds=seconds))
    figure, ax = plt.subplots()
    tk.plot_unread_trend(tk.load_snapshots(tmp_path / "seconds"), ax=ax)
    figure.canvas.draw()
    low, high = ax.get_xlim()
    drawn = sorted({float(x) for line in ax.get_lines() for x in mdates.date2num(line.get_xdata())})
    assert (drawn[-1] - drawn[0]) / (high - low) > 0.4  # two points, not one stack
    plt.close(figure)
    # No snapshot with an unread conversation: the wait trend draws no line, and the report
    # is still written (matplotlib was handed infinite limits).
    none_unread = pulled.assign(has_unread=False, unread_count=0)
    for seconds in (0, 60):
        tk.save_snapshot(none_unread, tmp_path / "none", snapshot_at=moment + pd.Timedelta(seconds=seconds))
    history = tk.load_snapshots(tmp_path / "none")
    page = tk.build_report(none_unread, history=history)
    assert "Trends over 2 snapshots" in page


def test_a_frame_whose_times_lost_their_zone_reads_them_as_utc(pulled):
    """pandas' own to_excel asks for zone-less times; a frame so stripped still measures alike."""
    naive = pulled.assign(**{column: pulled[column].dt.tz_localize(None)
                             for column in ("last_message_at", "window_expires_at", "fetched_at")})
    for measure in (tk.window_bucket, tk.expiry_summary, tk.wait_percentiles, tk.unread_wait,
                    tk.window_remaining, tk.expiry_timeline):
        result, expected = measure(naive), measure(pulled)
        assert result.equals(expected), measure.__name__
    assert (tk.at_risk(naive, within="24h")["conversation_id"].tolist()
            == tk.at_risk(pulled, within="24h")["conversation_id"].tolist())
    assert tk.build_report(naive) == tk.build_report(pulled)


def points_along_x(ax) -> list:
    """Where the data lines' points lie along a date axis (the 24 h mark's line left out)."""
    import matplotlib.dates as mdates

    lines = [line for line in ax.get_lines() if line.get_marker() != "None"]
    xs = [x for line in lines for x in mdates.date2num(line.get_xdata())]
    return sorted({mdates.num2date(x).replace(tzinfo=None) for x in xs})


def test_a_daily_trend_is_drawn_on_its_days_in_any_zone_and_each_snapshot_at_its_time(pulled, tmp_path):
    """A day of a daily trend is a UTC day: drawn on the local clock, in Los Angeles it landed on
    the evening before, on an axis that called it a snapshot time."""
    import matplotlib.pyplot as plt

    moment = pulled["fetched_at"].max().floor("D") + pd.Timedelta(hours=9, minutes=5)
    for days in (0, 1, 2):
        tk.save_snapshot(pulled, tmp_path, snapshot_at=moment + pd.Timedelta(days=days))
    history = tk.load_snapshots(tmp_path)
    days = [(moment + pd.Timedelta(days=day)).floor("D").tz_localize(None) for day in (0, 1, 2)]
    for plot in (tk.plot_unread_trend, tk.plot_wait_trend):
        for zone in ("America/Los_Angeles", "Pacific/Auckland"):
            figure, ax = plt.subplots()
            plot(history, freq="D", tz=zone, ax=ax)
            drawn = points_along_x(ax)
            assert drawn == days, (plot.__name__, zone, drawn)
            # The zone's own days (09:05 UTC falls on the same date there), said on the axis by
            # the zone's name at the last snapshot (PST or PDT, NZDT or NZST by the season).
            shown = (moment + pd.Timedelta(days=2)).to_pydatetime().astimezone(ZoneInfo(zone)).tzname()
            assert shown in {"PST", "PDT", "NZDT", "NZST"} and ax.get_xlabel() == f"day ({shown})"
            plt.close(figure)
        # Every snapshot: at its own time on the local clock.
        figure, ax = plt.subplots()
        plot(history, tz="America/Los_Angeles", ax=ax)
        drawn = points_along_x(ax)
        local = [(moment + pd.Timedelta(days=day)).tz_convert("America/Los_Angeles").tz_localize(None)
                 for day in (0, 1, 2)]
        assert drawn == local and ax.get_xlabel().startswith("snapshot time (P")
        plt.close(figure)
    # Periods shorter than a day: drawn at their starts, on an axis that says so.
    figure, ax = plt.subplots()
    tk.plot_unread_trend(history, freq="12h", tz="America/Los_Angeles", ax=ax)
    assert ax.get_xlabel().startswith("period start (P")
    plt.close(figure)
    figure, ax = plt.subplots()
    tk.plot_wait_trend(history, ax=ax)
    assert ax.get_title().endswith("(all providers)")
    plt.close(figure)


def test_an_empty_at_risk_chart_says_when_the_next_window_closes_instead_of_an_axis_about_zero(pulled):
    import matplotlib.pyplot as plt

    now = pulled["fetched_at"].max()
    later = tk.at_risk(pulled, within="24h", as_of=now)["window_remaining"]
    within = f"{max(1, int(later.min().total_seconds() // 2))}s"  # shorter than the soonest window
    figure, ax = plt.subplots()
    tk.plot_at_risk(pulled, within=within, as_of=now, ax=ax)
    said = " ".join(text.get_text() for text in ax.texts)
    assert "The next unread conversation's window closes in" in said
    assert f"{len(later):,} close within 24 h" in said
    assert not len(ax.get_xticks()) and not ax.patches and ax.get_title().endswith(": none")
    plt.close(figure)


def test_an_empty_closing_timeline_says_so(pulled):
    import matplotlib.pyplot as plt

    for frame in (tk.empty_frame(), pulled.assign(window_open=False, window_expires_at=pd.NaT)):
        figure, ax = plt.subplots()
        tk.plot_expiry_timeline(frame, horizon="12H", ax=ax)
        assert [text.get_text() for text in ax.texts] == ["No reply window closes in the next 12 hours"]
        plt.close(figure)
    figure, ax = plt.subplots()
    tk.plot_expiry_timeline(pulled, ax=ax)  # windows do close: bars, no words over them
    assert not ax.texts and any(patch.get_height() > 0 for patch in ax.patches)
    plt.close(figure)


def test_a_flat_trend_runs_below_the_legend_not_under_it(pulled, tmp_path):
    import matplotlib.pyplot as plt

    moment = pulled["fetched_at"].max()
    for days in (0, 1, 2):  # the same backlog three times: flat lines at their highest
        tk.save_snapshot(pulled, tmp_path, snapshot_at=moment + pd.Timedelta(days=days))
    history = tk.load_snapshots(tmp_path)
    figure, ax = plt.subplots()
    tk.plot_unread_trend(history, by="provider", ax=ax)
    figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    for line in ax.get_lines():
        points = ax.transData.transform(list(zip(line.get_xdata(orig=False), line.get_ydata(), strict=True)))
        assert (points[:, 1] < legend.y0).all(), line.get_label()
    plt.close(figure)


def test_the_time_left_chart_draws_open_windows_and_counts_the_closed_in_its_labels(pulled):
    import matplotlib.pyplot as plt

    now = pulled["fetched_at"].max()
    summary = tk.expiry_summary(pulled, as_of=now)
    figure, ax = plt.subplots()
    tk.plot_expiry_buckets(pulled, as_of=now, ax=ax)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "closed" not in legend and len(legend) == 4
    # Each group's bar ends at its open windows (closed ones squeezed them into slivers).
    ends = {}
    for patch in ax.patches:
        row = round(patch.get_y() + patch.get_height() / 2)
        ends[row] = max(ends.get(row, 0), patch.get_x() + patch.get_width())
    labels = [label.get_text() for label in ax.get_yticklabels()]
    for row, (_, counts) in enumerate(summary.iterrows()):
        assert ends[row] == counts.drop("closed").sum()
        assert labels[row].endswith(f"({int(counts['closed']):,} closed)"), labels[row]
    plt.close(figure)


def test_a_chart_saved_on_its_own_keeps_its_legend_and_labels_inside_the_picture(pulled):
    import matplotlib.pyplot as plt

    ax = tk.plot_expiry_buckets(pulled, by="channel_id")  # a legend below, long channel names
    figure = ax.figure
    figure.canvas.draw()
    inside = figure.bbox
    legend = ax.get_legend().get_window_extent()
    assert inside.x0 <= legend.x0 and legend.x1 <= inside.x1 and inside.y0 <= legend.y0
    for label in ax.get_yticklabels():
        assert label.get_window_extent().x0 >= inside.x0, label.get_text()
    plt.close(figure)


def test_the_at_risk_chart_says_how_many_it_leaves_out(pulled):
    import matplotlib.pyplot as plt

    now = pulled["fetched_at"].max()
    every = tk.at_risk(pulled, within="24h", as_of=now)
    assert len(every) > 5
    figure, ax = plt.subplots()
    tk.plot_at_risk(pulled, within="24h", as_of=now, limit=5, ax=ax)
    assert ax.get_title().endswith(f"(5 soonest of {len(every):,})")
    plt.close(figure)
