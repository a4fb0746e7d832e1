"""Command-line outputs people open: the format from --out's extension, --tz, --channel-names."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

import toolkit as tk
from toolkit import cli

ROOT = Path(__file__).resolve().parent.parent
NAMES_FILE = ROOT / "data" / "briq_channel_names.csv"
DAR = "Africa/Dar_es_Salaam"


@pytest.fixture
def live(sandbox, monkeypatch):
    """The sandbox stands in for both live APIs, through the environment as for a user."""
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WA_TOOLKIT_TZ", raising=False)
    return sandbox


def exit_code(args: list[str]) -> int:
    """What ``wa-toolkit ARGS`` exits with (argparse itself exits on a bad argument)."""
    try:
        return cli.main(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def about_sheet(path: Path) -> dict:
    return dict(openpyxl.load_workbook(path)["about"].iter_rows(min_row=2, values_only=True))


def test_export_writes_a_workbook_for_xlsx_with_names_and_local_time(live, tmp_path, capsys):
    out = tmp_path / "conversations.xlsx"
    code = cli.main(["export", "--provider", "briq", "--no-progress", "--out", str(out), "--tz", DAR,
                     "--channel-names", str(NAMES_FILE)])
    assert code == 0, capsys.readouterr().err
    assert f"wrote {out}" in capsys.readouterr().out
    sheet = openpyxl.load_workbook(out)["conversations"]
    header = [cell.value for cell in sheet[1]]
    names = {row[header.index("channel_name")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert names == set(tk.read_channel_names(NAMES_FILE).values())
    assert about_sheet(out)["time zone (IANA)"] == DAR


def test_export_writes_csv_for_csv_with_names(live, tmp_path):
    out = tmp_path / "conversations.csv"
    assert cli.main(["export", "--no-progress", "--out", str(out), "--channel-names", str(NAMES_FILE)]) == 0
    df = tk.read_csv(out)
    assert df["channel_name"].notna().all()  # Wassist names from the API, Briq's from the file
    assert set(df.loc[df["provider"] == "wassist", "channel_name"]) >= {"Mauzo Bot", "Support Dar"}


@pytest.mark.parametrize("args", [
    ["export", "--out", "{tmp}/conversations.txt"],
    ["export", "--out", "{tmp}/conversations"],
    ["report", "--out", "{tmp}/conversations.json"],
    ["export", "--out", "{tmp}/c.csv", "--tz", "Dar es Salaam"],
    ["export", "--out", "{tmp}/c.csv", "--channel-names", "{tmp}/absent.csv"],
    ["export", "--out", "{tmp}/c.csv", "--channel-names", "{tmp}/wrong.csv"],
])
def test_bad_output_options_are_one_line_usage_errors_before_any_request(live, tmp_path, capsys, args):
    (tmp_path / "wrong.csv").write_text("id,name\ns1,Duka\n", encoding="utf-8")
    code = exit_code([arg.format(tmp=tmp_path) for arg in args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("wa-toolkit: error:"), err
    assert live.list_requests() == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["wrong.csv"]


def test_a_bad_zone_in_the_environment_is_refused_before_any_request(live, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WA_TOOLKIT_TZ", "Mars/Olympus")
    assert cli.main(["export", "--out", str(tmp_path / "c.xlsx")]) == 2
    assert "WA_TOOLKIT_TZ" in capsys.readouterr().err and live.list_requests() == []


def test_zone_from_the_environment_reaches_the_workbook(live, tmp_path, monkeypatch):
    monkeypatch.setenv("WA_TOOLKIT_TZ", DAR)
    out = tmp_path / "c.xlsx"
    assert cli.main(["export", "--provider", "wassist", "--no-progress", "--out", str(out)]) == 0
    assert about_sheet(out)["times are in"] == f"{DAR} (UTC+03:00)"


def test_report_writes_the_data_file_its_out_names_beside_the_report(live, tmp_path):
    out = tmp_path / "conversations.xlsx"
    # A day's horizon puts conversations of every Briq sender on the at-risk list.
    assert cli.main(["report", "--no-progress", "--out", str(out), "--tz", DAR, "--within", "24h",
                     "--channel-names", str(NAMES_FILE)]) == 0
    assert out.exists() and (tmp_path / "report.html").exists()
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"Times in {DAR} (UTC+03:00)" in html
    assert all(name in html for name in tk.read_channel_names(NAMES_FILE).values())


def test_the_workbooks_at_risk_sheet_follows_within_in_export_and_report(live, tmp_path, capsys):
    default, exported = tmp_path / "default.xlsx", tmp_path / "export.xlsx"
    reported = tmp_path / "r" / "conversations.xlsx"
    (tmp_path / "r").mkdir()
    assert cli.main(["export", "--no-progress", "--out", str(default)]) == 0
    assert cli.main(["export", "--no-progress", "--out", str(exported), "--within", "24h"]) == 0
    assert cli.main(["report", "--no-progress", "--out", str(reported), "--within", "24h"]) == 0
    printed = capsys.readouterr().out

    def at_risk_rows(book: Path) -> int:
        return openpyxl.load_workbook(book)["at risk"].max_row - 1

    assert about_sheet(default)["at risk"].endswith("closes within 2 h")  # as the report writes it
    for book in (exported, reported):
        assert about_sheet(book)["at risk"].endswith("closes within 24 h")
        # A day's horizon holds every conversation the default 2 h holds, and more.
        assert at_risk_rows(book) > at_risk_rows(default)
    assert "window within 24 h" in printed


def test_within_is_refused_for_a_csv_export_which_has_no_at_risk_sheet(live, tmp_path, capsys):
    assert cli.main(["export", "--no-progress", "--out", str(tmp_path / "c.csv"), "--within", "4h"]) == 2
    assert "--within" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_snapshot_keeps_the_names_of_the_file(live, tmp_path):
    root = tmp_path / "history"
    assert cli.main(["snapshot", "--provider", "briq", "--no-progress", "--root", str(root),
                     "--channel-names", str(NAMES_FILE)]) == 0
    back = tk.load_snapshots(root)
    assert set(back["channel_name"]) == set(tk.read_channel_names(NAMES_FILE).values())


def test_report_names_the_channels_of_its_history_too(live, tmp_path):
    # Snapshots saved without names: --channel-names given to the report names them there as in
    # the charts of the pull (one channel, two names on one page otherwise).
    root = tmp_path / "history"
    for _ in range(2):
        assert cli.main(["snapshot", "--provider", "briq", "--no-progress", "--root", str(root)]) == 0
    assert tk.load_snapshots(root)["channel_name"].isna().all()
    out = tmp_path / "report"
    assert cli.main(["report", "--provider", "briq", "--no-progress", "--out", str(out),
                     "--history", str(root), "--channel-names", str(NAMES_FILE)]) == 0
    stuck = (out / "report.html").read_text().split("Still unread across consecutive snapshots", 1)[1]
    names = set(tk.read_channel_names(NAMES_FILE).values())
    assert any(name in stuck for name in names)
    assert not any(f"{channel_id[:8]}…" in stuck for channel_id in tk.read_channel_names(NAMES_FILE))
