"""CSV export: spreadsheet-safe, atomic, and exactly reversible."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk

PAYLOADS = [
    "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\",\"y\")",
    "=cmd|' /C calc'!A0", "@cmd|'/c calc'!_xlbutton", "+cmd|' /C notepad'!'A1'", "-2+3+cmd|' /C calc'!A0",
    "\uff1d1+1", "\ufe661+1", "  =1+1", "'already quoted", "''", "'", "", "NA", "None", "nan", "null",
    "José Ñandú 🌸", "line\nbreak", "comma, inside", "quote \" inside", "|pipe", "%percent",
]


def sample(names: list[str]) -> pd.DataFrame:
    n = len(names)
    df = pd.DataFrame({
        "provider": ["briq" if i % 2 else "wassist" for i in range(n)],
        "conversation_id": [f"id-{i}" for i in range(n)],
        "contact_phone": ["00255712345678", "447700900200123456789"] * (n // 2) + ["0"] * (n % 2),
        "contact_name": names,
        "channel_id": [None] + [f"=chan{i}" for i in range(1, n)],
        "is_active": [True, False, None] * (n // 3) + [True] * (n % 3),
        "is_human_takeover": [None] * n,
        "has_unread": [True] * n,
        "unread_count": list(range(n)),
        "last_message_at": [pd.Timestamp("2026-09-29T01:00:00.123456Z")] * (n - 1) + [None],
        "window_open": [True] * n,
        "window_expires_at": [pd.Timestamp("0001-01-01T00:00:00Z"),
                              pd.Timestamp("9999-12-31T23:59:59.999999Z")] * (n // 2) + [None] * (n % 2),
        "fetched_at": [pd.Timestamp("2026-09-29T02:00:00Z")] * n,
    })
    return tk.conform(df)


def test_round_trip_is_exact_for_every_unified_column(tmp_path):
    df = sample(PAYLOADS)
    back = tk.read_csv(tk.to_csv(df, tmp_path / "out.csv"))
    pd.testing.assert_frame_equal(back, df)


def test_missing_and_empty_names_stay_distinct(tmp_path):
    df = sample(["", None])
    back = tk.read_csv(tk.to_csv(df, tmp_path / "out.csv"))
    assert back.loc[0, "contact_name"] == "" and back.loc[1, "contact_name"] is pd.NA


def first_characters(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [cell for row in list(csv.reader(handle))[1:] for cell in row]


def test_no_cell_can_start_a_formula_in_a_spreadsheet(tmp_path):
    path = tk.to_csv(sample(PAYLOADS), tmp_path / "out.csv")
    dangerous = tuple("=+-@\t\r\uff1d\ufe66")
    for cell in first_characters(path):
        assert not cell.startswith(dangerous), cell
        assert not cell.lstrip().startswith(dangerous) or cell.startswith("'"), cell


def test_file_opens_as_utf8_with_a_bom_and_iso_timestamps(tmp_path):
    path = tk.to_csv(sample(["Ибрагим", "🌸"]), tmp_path / "out.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "2026-09-29T01:00:00.123456Z" in text
    assert "00255712345678" in text and "447700900200123456789" in text  # digits, never 4.47E+20


def test_a_failed_write_says_what_became_of_the_file(tmp_path):
    import errno

    from toolkit._files import write_atomically

    def disk_full(handle):
        raise OSError(errno.ENOSPC, "No space left on device")

    existing = tmp_path / "kept.csv"
    existing.write_text("before")
    with pytest.raises(OSError, match="kept.csv is left as it was") as failed:
        write_atomically(existing, disk_full)
    assert "disk is full" in str(failed.value) and existing.read_text() == "before"
    # Of a file that never was, nothing is "left as it was": nothing was written.
    with pytest.raises(OSError, match="nothing was written"):
        write_atomically(tmp_path / "new.csv", disk_full)
    with pytest.raises(OSError, match="nothing was written"):
        tk.to_csv(sample(["Asha", "Juma"]), tmp_path / "nosuch" / "x.csv")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept.csv"]


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous content")
    bad = sample(["a"])

    class Boom:
        def __str__(self):
            raise RuntimeError("disk full")

    bad["contact_name"] = pd.Series([Boom()], dtype=object)
    with pytest.raises(RuntimeError):
        tk.to_csv(bad, target)
    assert target.read_text() == "previous content"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


@pytest.mark.parametrize(("name", "writer"), [
    ("out.xlsx", "tk.to_excel"), ("out.XLS", "tk.to_excel"), ("out.ods", "tk.to_excel"),
    ("out.parquet", "tk.save_snapshot"),
])
def test_a_csv_is_not_written_under_another_formats_name(tmp_path, name, writer):
    # tk.to_excel refuses a .csv name; a CSV under a workbook's name would open as a corrupt file.
    with pytest.raises(ValueError, match=f"not for CSV; {writer}"):
        tk.to_csv(sample(["Amina"]), tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_read_csv_rejects_a_file_that_is_not_ours(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing column"):
        tk.read_csv(path)


def test_round_trip_of_a_sandbox_pull(tmp_path, sandbox):
    df = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=False)
    back = tk.read_csv(tk.to_csv(df, tmp_path / "pull.csv"))
    pd.testing.assert_frame_equal(back, df, check_like=False)
