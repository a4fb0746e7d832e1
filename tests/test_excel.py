"""tk.to_excel read back by an independent reader (openpyxl): typed cells, local times, no formulas."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

import toolkit as tk
from toolkit import excel
from toolkit._tz import TZ_ENV, resolve_tz

from .helpers import wassist

# Names end users really type, and ones that would run as formulas if a spreadsheet guessed.
NAMES = ["=1+1", '=HYPERLINK("http://x","y")', "+255 customer", "@support", "-5", "\t=cmd", " =spaced",
         "'quoted", "_x0041_", "line\nbreak", "  padded  ", "\uff1dfull", "", "NA", "Ибрагим 🌸", None]
PHONES = ["0712345678", "25571234567890123456", "447700900123", None]
SUMMER = datetime(2026, 7, 1, 12, 0, 5, 250000, tzinfo=UTC)
WINTER = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)


def hostile_frame() -> pd.DataFrame:
    rows = len(NAMES)
    fetched = pd.Timestamp(SUMMER)
    frame = pd.DataFrame({
        "provider": ["briq", "wassist"] * (rows // 2),
        "conversation_id": [f"c{i:02d}" for i in range(rows)],
        "contact_phone": (PHONES * rows)[:rows],
        "contact_name": NAMES,
        "channel_id": ["s1"] * rows,
        "is_active": ([True, False, None] * rows)[:rows],
        "has_unread": [True] * rows,
        "unread_count": ([3, 0, None] * rows)[:rows],
        "last_message_at": ([SUMMER, WINTER, None] * rows)[:rows],
        "window_open": [True] * rows,
        # Closing in 30 min, 90 min, 5 h, unknown: some at risk within 2 h, some not.
        "window_expires_at": ([fetched + pd.Timedelta(minutes=m) if m else None for m in (30, 90, 300, 0)]
                              * rows)[:rows],
        "fetched_at": [fetched] * rows,
        "channel_name": ["=cmd|' /C calc'!A0", "Mauzo Bot"] * (rows // 2),
    })
    frame = tk.conform(frame)
    frame.attrs["pulls"] = {"briq": {"provider": "briq", "base_url": "http://127.0.0.1:1", "rows": rows,
                                     "filters": {"status": "all"}, "api_key": "must-never-show",
                                     "passes": {"conversations": {"pages": 3, "overlap": 1},
                                                "conversations sweep 1": {"pages": 1, "overlap": 1}}}}
    return frame


def wall_clock(moment: datetime | None, zone: str) -> datetime | None:
    """What a clock in ``zone`` showed at ``moment``, computed with the standard library only."""
    return None if moment is None else moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def close_enough(got: datetime, expected: datetime) -> bool:
    # A spreadsheet keeps times as fractions of a day: about a millisecond survives a reader.
    return abs(got - expected) <= timedelta(milliseconds=1)


@pytest.fixture
def book(tmp_path):
    df = hostile_frame()
    path = tk.to_excel(df, tmp_path / "out.xlsx", tz="Europe/London")
    assert path == tmp_path / "out.xlsx"
    return df, openpyxl.load_workbook(path)


def test_no_cell_of_any_sheet_is_a_formula(book):
    _, workbook = book
    assert workbook.sheetnames == ["conversations", "at risk", "about"]
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert cells and not [cell.coordinate for cell in cells if cell.data_type == "f"]


def test_every_cell_has_its_columns_type_and_text_comes_back_exactly(book):
    df, workbook = book
    sheet = workbook["conversations"]
    rows = list(sheet.iter_rows(values_only=False))
    assert [cell.value for cell in rows[0]] == list(df.columns)
    assert len(rows) == len(df) + 1
    column = {name: index for index, name in enumerate(df.columns)}
    for i, row in enumerate(rows[1:]):
        name = row[column["contact_name"]]
        if NAMES[i] is None:
            assert name.value is None
        else:
            assert (name.value, name.data_type) == (NAMES[i], "s")
        phone = row[column["contact_phone"]]
        expected_phone = df["contact_phone"].iloc[i]
        assert phone.value == (None if pd.isna(expected_phone) else expected_phone)
        assert phone.value is None or phone.data_type == "s"
        active = row[column["is_active"]]
        expected_active = df["is_active"].iloc[i]
        assert active.value is (None if pd.isna(expected_active) else bool(expected_active))
        assert active.value is None or active.data_type == "b"
        count = row[column["unread_count"]]
        assert count.value == (None if pd.isna(df["unread_count"].iloc[i]) else df["unread_count"].iloc[i])
        assert row[column["channel_name"]].value == df["channel_name"].iloc[i]
        assert row[column["provider"]].value == df["provider"].iloc[i]


def test_times_are_date_cells_of_the_chosen_zones_wall_clock(book):
    df, workbook = book
    sheet = workbook["conversations"]
    header = [cell.value for cell in sheet[1]]
    moments = ([SUMMER, WINTER, None] * len(df))[: len(df)]
    for i, row in enumerate(sheet.iter_rows(min_row=2)):
        cell = row[header.index("last_message_at")]
        expected = wall_clock(moments[i], "Europe/London")  # summer: UTC+1, winter: UTC+0
        if expected is None:
            assert cell.value is None
        else:
            assert cell.is_date and close_enough(cell.value, expected)
        fetched = row[header.index("fetched_at")]
        assert fetched.is_date and close_enough(fetched.value, datetime(2026, 7, 1, 13, 0, 5, 250000))
    assert df["last_message_at"].dt.tz is not None and str(df["last_message_at"].dt.tz) == "UTC"


def test_formula_like_cells_are_inert_without_a_visible_escape(book):
    _, workbook = book
    sheet = workbook["conversations"]
    header = [cell.value for cell in sheet[1]]
    formula_like = [row[header.index("contact_name")] for row in sheet.iter_rows(min_row=2)
                    if str(row[header.index("contact_name")].value or "x")[0] in "=+-@\t"]
    assert len(formula_like) == 6
    # Text cells that also stay text when edited (the quote prefix is not part of the value).
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in formula_like)
    assert not any(cell.value.startswith("'") for cell in formula_like)


def test_sheet_is_ready_to_read_frozen_filtered_and_sized(book):
    df, workbook = book
    sheet = workbook["conversations"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:N{len(df) + 1}"
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}
    assert widths["B"] >= len("conversation_id") and widths["I"] >= len("unread_count")
    assert all(8 <= width <= 48 for width in widths.values())


def test_at_risk_sheet_lists_the_same_conversations_soonest_first(book):
    df, workbook = book
    expected = tk.at_risk(df)
    sheet = workbook["at risk"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header == [*df.columns, "window_remaining"]
    assert [row[header.index("conversation_id")] for row in rows[1:]] == expected["conversation_id"].tolist()
    assert len(expected) > 0
    remaining = [row[header.index("window_remaining")] for row in rows[1:]]
    assert remaining == [timedelta(minutes=30)] * (len(expected) // 2) + [timedelta(minutes=90)] * (
        len(expected) - len(expected) // 2)


def test_about_sheet_names_the_zone_and_the_pull_never_a_key(book, tmp_path):
    _, workbook = book
    about = dict(workbook["about"].iter_rows(min_row=2, values_only=True))
    assert about["times are in"] == "Europe/London (UTC+01:00)"
    assert about["time zone (IANA)"] == "Europe/London"
    assert about["pull briq: base_url"] == "http://127.0.0.1:1"
    assert about["pull briq: filters.status"] == "all"
    assert not [name for name in about if "passes" in name or "pages" in name]  # counted, not listed
    assert about["pull briq: list reads"] == 2  # a number cell, no pointer into Python
    assert not any("must-never-show" in str(value) for value in about.values())
    with zipfile.ZipFile(tmp_path / "out.xlsx") as archive:
        assert not any(b"must-never-show" in archive.read(name) for name in archive.namelist())


def test_a_real_pull_writes_its_provenance_and_no_key(sandbox, tmp_path):
    df = wassist(sandbox)
    path = tk.to_excel(df, tmp_path / "pull.xlsx")
    with zipfile.ZipFile(path) as archive:
        key = sandbox.config.wassist_key.encode()
        assert not any(key in archive.read(name) for name in archive.namelist())
    about = dict(openpyxl.load_workbook(path)["about"].iter_rows(min_row=2, values_only=True))
    assert about["times are in"] == "UTC"
    assert about["pull wassist: rows"] == len(df) and about["pull wassist: base_url"] == sandbox.base_url
    sheet = openpyxl.load_workbook(path)["conversations"]
    names = [row[13] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == df["channel_name"].tolist()


def test_zone_comes_from_the_argument_then_the_environment_then_utc(monkeypatch, tmp_path):
    df = hostile_frame()
    monkeypatch.delenv(TZ_ENV, raising=False)
    assert resolve_tz() == "UTC" and resolve_tz(ZoneInfo("Asia/Tokyo")) == "Asia/Tokyo"
    monkeypatch.setenv(TZ_ENV, "Africa/Dar_es_Salaam")
    assert resolve_tz() == "Africa/Dar_es_Salaam" and resolve_tz("Europe/London") == "Europe/London"
    path = tk.to_excel(df, tmp_path / "env.xlsx")
    fetched = openpyxl.load_workbook(path)["conversations"]["M2"].value
    assert close_enough(fetched, wall_clock(SUMMER, "Africa/Dar_es_Salaam"))  # UTC+3
    monkeypatch.setenv(TZ_ENV, "Mars/Olympus")
    with pytest.raises(ValueError, match=f"{TZ_ENV}.*'Mars/Olympus' is not an IANA time zone"):
        tk.to_excel(df, tmp_path / "bad.xlsx")
    with pytest.raises(ValueError, match="'Dar es Salaam' is not an IANA time zone"):
        tk.to_excel(df, tmp_path / "bad.xlsx", tz="Dar es Salaam")
    assert not (tmp_path / "bad.xlsx").exists()


def test_bad_requests_are_refused_before_anything_is_written(tmp_path, monkeypatch):
    df = hostile_frame()
    with pytest.raises(ValueError, match=r"must end in \.xlsx"):
        tk.to_excel(df, tmp_path / "out.xls")
    with pytest.raises(TypeError, match="writes a pandas DataFrame or Series, got list"):
        tk.to_excel([1, 2], tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match=r"levels counted\); \['provider'\] appear more than once"):
        tk.to_excel(pd.DataFrame({"provider": [1], "x": [2]}).set_index("provider").assign(provider=3),
                    tmp_path / "x.xlsx")
    monkeypatch.setattr(excel, "MAX_ROWS", 3)
    with pytest.raises(ValueError, match="more than an Excel sheet holds"):
        tk.to_excel(df, tmp_path / "big.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_workbook_whole(tmp_path):
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cannot show this")

    path = tk.to_excel(hostile_frame(), tmp_path / "out.xlsx")
    before = path.read_bytes()
    broken = hostile_frame().assign(extra=Unprintable())
    with pytest.raises(RuntimeError, match="cannot show this"):
        tk.to_excel(broken, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_text_longer_than_a_cell_is_cut_and_said_so(tmp_path):
    df = hostile_frame()
    df.loc[3, "contact_name"] = "x" * 40_000  # a row that is not at risk: one cell in the workbook
    with pytest.warns(tk.DataQualityWarning, match="1 text value"):
        path = tk.to_excel(df, tmp_path / "long.xlsx")
    workbook = openpyxl.load_workbook(path)
    assert workbook["conversations"]["D5"].value == "x" * 32_767
    about = dict(workbook["about"].iter_rows(min_row=2, values_only=True))
    assert "1 text value(s) longer than" in about["texts cut"]


def test_an_empty_frame_is_a_workbook_with_headers(tmp_path):
    workbook = openpyxl.load_workbook(tk.to_excel(tk.empty_frame(), tmp_path / "empty.xlsx"))
    assert [cell.value for cell in workbook["conversations"][1]] == list(tk.empty_frame().columns)
    assert workbook["conversations"].max_row == 1 and workbook["at risk"].max_row == 1


def test_a_summary_or_some_columns_go_to_one_typed_sheet(tmp_path):
    """pandas' own to_excel refuses the toolkit's UTC times; a summary or a few columns must not
    need them stripped by hand."""
    df = hostile_frame()
    zone = "Africa/Dar_es_Salaam"
    summary = tk.unread_summary(df)
    workbook = openpyxl.load_workbook(tk.to_excel(summary, tmp_path / "summary.xlsx", tz=zone))
    assert workbook.sheetnames == ["table", "about"]
    rows = list(workbook["table"].iter_rows(values_only=True))
    assert rows[0] == ("provider", *summary.columns)  # the groups, from the index, lead
    assert [row[0] for row in rows[1:]] == list(summary.index)
    for row, (_, expected) in zip(rows[1:], summary.iterrows(), strict=True):
        assert list(row[1:]) == [None if pd.isna(value) else value for value in expected.tolist()]
    some = df[["conversation_id", "contact_name", "last_message_at", "has_unread"]]
    sheet = openpyxl.load_workbook(tk.to_excel(some, tmp_path / "some.xlsx", tz=zone))["table"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(some.columns)  # a plain index is not a column
    for row, (_, expected) in zip(rows[1:], some.iterrows(), strict=True):
        assert row[1] == (None if pd.isna(expected["contact_name"]) else expected["contact_name"])
        moment = expected["last_message_at"]
        if pd.isna(moment):
            assert row[2] is None
        else:
            assert close_enough(row[2], wall_clock(moment.to_pydatetime(), zone))
        assert row[3] == (None if pd.isna(expected["has_unread"]) else bool(expected["has_unread"]))
    about_sheet = openpyxl.load_workbook(tmp_path / "some.xlsx")["about"]
    about = dict(about_sheet.iter_rows(min_row=2, values_only=True))
    assert about["time zone (IANA)"] == zone and about["rows"] == len(some)


def test_a_tables_days_rows_and_column_names_are_written_as_people_read_them(tmp_path):
    moments = pd.DatetimeIndex(["2026-11-30", "2026-12-01"], tz="UTC", name="day")
    zone = "America/Los_Angeles"
    # A day of a daily table is a UTC day: on Los Angeles' clock it read as the evening before.
    daily = pd.DataFrame({"windows_lost": [3, 4]}, index=moments)
    rows = list(openpyxl.load_workbook(tk.to_excel(daily, tmp_path / "d.xlsx", tz=zone))["table"]
                .iter_rows(values_only=True))
    assert rows == [("day", "windows_lost"), (datetime(2026, 11, 30), 3), (datetime(2026, 12, 1), 4)]
    trend = pd.DataFrame({"unread": [1, 2]}, index=moments.rename("snapshot_at"))
    trend.attrs["freq"] = "D"  # as the trend functions mark a daily trend
    rows = list(openpyxl.load_workbook(tk.to_excel(trend, tmp_path / "t.xlsx", tz=zone))["table"]
                .iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [datetime(2026, 11, 30), datetime(2026, 12, 1)]
    # A moment that is not a day keeps the zone's clock.
    moment = pd.DataFrame({"unread": [1]}, index=pd.DatetimeIndex(["2026-11-30 09:05"], tz="UTC", name="at"))
    rows = list(openpyxl.load_workbook(tk.to_excel(moment, tmp_path / "m.xlsx", tz=zone))["table"]
                .iter_rows(values_only=True))
    assert rows[1][0] == datetime(2026, 11, 30, 1, 5)
    # Row numbers of a filtered frame are no column; a MultiIndex column's levels read as words.
    filtered = pd.DataFrame({"name": ["a", "b", "c"]}).iloc[[0, 2]]
    assert list(openpyxl.load_workbook(tk.to_excel(filtered, tmp_path / "f.xlsx"))["table"]
                .iter_rows(values_only=True)) == [("name",), ("a",), ("c",)]
    levels = pd.MultiIndex.from_tuples([("closed", "wassist"), ("closed", "briq")])
    wide = pd.DataFrame([[1, 2]], columns=levels)
    header = next(openpyxl.load_workbook(tk.to_excel(wide, tmp_path / "w.xlsx"))["table"]
                  .iter_rows(values_only=True))
    assert header == ("closed wassist", "closed briq")
    with pytest.raises(ValueError, match=r"\['1'\] appear more than once"):
        tk.to_excel(pd.DataFrame({1: [1], "1": [2]}), tmp_path / "x.xlsx")


def test_days_of_any_zone_summaries_series_and_shares_are_written_as_a_spreadsheet_reads_them(tmp_path):
    # closed_unread_by_day(tz=...)'s days are days of that zone: dates, whatever zone the book shows.
    days = pd.DatetimeIndex(["2026-11-23", "2026-11-24"], name="day").tz_localize("America/Los_Angeles")
    lost = pd.DataFrame({"wassist": [7, 0]}, index=days)
    rows = list(openpyxl.load_workbook(tk.to_excel(lost, tmp_path / "l.xlsx", tz="Asia/Tokyo"))["table"]
                .iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [datetime(2026, 11, 23), datetime(2026, 11, 24)]
    # A trend unstacked (its period no longer travels with it) is still days.
    unstacked = pd.DataFrame({"briq": [1, 2]}, index=pd.DatetimeIndex(["2026-11-23", "2026-11-24"], tz="UTC",
                                                                      name="snapshot_at"))
    rows = list(openpyxl.load_workbook(tk.to_excel(unstacked, tmp_path / "u.xlsx", tz="Asia/Tokyo"))["table"]
                .iter_rows(values_only=True))
    assert rows[1][0] == datetime(2026, 11, 23)
    # Row labels that are not row numbers are kept: describe()'s statistics.
    described = pd.DataFrame({"unread_count": [1.0, 2.0, 3.0]}).describe()
    rows = list(openpyxl.load_workbook(tk.to_excel(described, tmp_path / "d.xlsx"))["table"]
                .iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == list(described.index)
    # A Series is one column; a share is a percentage cell.
    counts = pd.Series([3, 4], index=pd.Index(["wassist", "briq"], name="provider"), name="unread")
    rows = list(openpyxl.load_workbook(tk.to_excel(counts, tmp_path / "s.xlsx"))["table"]
                .iter_rows(values_only=True))
    assert rows == [("provider", "unread"), ("wassist", 3), ("briq", 4)]
    shares = pd.DataFrame({"unread_share": [0.0525]}, index=pd.Index(["wassist"], name="provider"))
    cell = openpyxl.load_workbook(tk.to_excel(shares, tmp_path / "p.xlsx"))["table"]["B2"]
    assert cell.value == 0.0525 and cell.number_format == "0.0%"
