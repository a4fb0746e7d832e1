"""Channel names: read from Wassist's live shape, kept by CSV and snapshots, set by name_channels."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import toolkit as tk
from toolkit.channels import channel_labels

from .helpers import briq, wassist

ROOT = Path(__file__).resolve().parents[1]
STRING = pd.StringDtype("pyarrow")


def small_frame(**columns) -> pd.DataFrame:
    base = {"provider": ["briq", "briq", "wassist"], "conversation_id": ["b1", "b2", "w1"],
            "channel_id": ["s1", "s2", "agent-1"], "fetched_at": [pd.Timestamp("2026-11-21T09:00Z")] * 3}
    return tk.conform(pd.DataFrame({**base, **columns}))


def test_channel_name_is_the_fourteenth_column_of_every_frame():
    assert list(tk.empty_frame().columns) == [*tk.SCHEMA, "channel_name"]
    assert list(tk.SCHEMA)[-1] == "fetched_at" and len(tk.SCHEMA) == 13  # the contract's 13 stay as they are
    frame = small_frame(extra=[1, 2, 3])
    assert list(frame.columns) == [*tk.SCHEMA, "channel_name", "extra"]
    assert frame["channel_name"].dtype == STRING and frame["channel_name"].isna().all()


def test_wassist_live_shape_names_each_agent_as_the_server_does(sandbox):
    df = wassist(sandbox)
    expected = {c.id: c.channel_name for c in sandbox.conversations["wassist"]}
    got = dict(zip(df["conversation_id"], df["channel_name"], strict=True))
    assert got == expected
    assert df["channel_name"].dtype == STRING
    assert {"Mauzo Bot", "Support Dar"} <= set(expected.values())


def test_documented_wassist_shape_and_briq_leave_channel_name_missing(make_sandbox):
    sandbox = make_sandbox(wassist_encoding="documented", wassist_conversations=40, briq_conversations=40)
    for df in (wassist(sandbox), briq(sandbox)):
        assert len(df) == 40
        assert df["channel_name"].isna().all() and df["channel_id"].notna().all()


def test_load_conversations_keeps_channel_name(sandbox):
    df = tk.load_conversations({
        "wassist": {"api_key": sandbox.config.wassist_key, "base_url": sandbox.base_url, "progress": False},
        "briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url, "progress": False}})
    assert list(df.columns) == [*tk.SCHEMA, "channel_name"]
    named = df.groupby("provider", observed=True)["channel_name"].count()
    assert named["wassist"] == (df["provider"] == "wassist").sum() and named["briq"] == 0


def test_name_channels_names_known_channels_and_leaves_the_rest():
    df = small_frame(channel_name=[None, "Old name", "Mauzo Bot"])
    before = df.copy()
    named = tk.name_channels(df, {"s1": "Duka Online", "s2": "Malipo Desk", "unseen": "Nobody"})
    assert named["channel_name"].tolist() == ["Duka Online", "Malipo Desk", "Mauzo Bot"]
    assert named["channel_name"].dtype == STRING
    pd.testing.assert_frame_equal(df, before)  # the input is not modified
    pd.testing.assert_frame_equal(named.drop(columns="channel_name"), df.drop(columns="channel_name"))


def test_name_channels_keeps_the_index_and_adds_a_missing_column_after_the_unified_ones():
    df = small_frame().drop(columns="channel_name").set_axis([10, 20, 30])
    named = tk.name_channels(df, {"agent-1": "Support Dar"})
    assert list(named.columns) == [*tk.SCHEMA, "channel_name"]
    assert named.index.tolist() == [10, 20, 30]
    assert named["channel_name"].isna().tolist() == [True, True, False]
    plain = tk.name_channels(pd.DataFrame({"channel_id": ["a", None]}), {"a": "A"})
    assert plain.columns.tolist() == ["channel_id", "channel_name"] and plain["channel_name"].iloc[0] == "A"


def test_name_channels_reads_a_csv_file_as_spreadsheets_save_it(tmp_path):
    path = tmp_path / "names.csv"
    # A byte order mark, a notes column, padded cells, a blank name and a blank last line.
    path.write_text("\ufeffnotes, channel_id ,channel_name\nshop,s1, =Duka+Online \nx,s2,\n,,\n",
                    encoding="utf-8")
    named = tk.name_channels(small_frame(), path)
    assert named.loc[0, "channel_name"] == "=Duka+Online" and pd.isna(named.loc[1, "channel_name"])
    assert tk.read_channel_names(str(path)) == {"s1": "=Duka+Online"}


def test_the_demo_names_file_names_every_briq_sender_of_the_demo_sandbox():
    from toolkit.sandbox import SandboxConfig, channel_names, make_conversations
    from toolkit.sandbox._data import utc_now

    config = SandboxConfig()
    senders = {c.channel_id: c.channel_name for c in make_conversations(
        "briq", config.briq_conversations, config.seed, utc_now(), channels=config.channels)}
    assert tk.read_channel_names(ROOT / "data" / "briq_channel_names.csv") == senders
    assert channel_names("briq", config.seed, config.channels) == senders


@pytest.mark.parametrize(("content", "message"), [
    ("id,name\ns1,Duka\n", "needs the columns channel_id,channel_name; missing channel_id,channel_name"),
    ("channel_id\ns1\n", "missing channel_name"),
    ("", "no header at all"),
    ("channel_id,channel_name\n,Duka\n", "line 2: a row without a channel_id"),
    ("channel_id,channel_name\ns1,Duka\ns1,Malipo\n", "'s1' is named both 'Duka' and 'Malipo'"),
])
def test_a_names_file_with_the_wrong_shape_is_a_clear_value_error(tmp_path, content, message):
    path = tmp_path / "names.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        tk.name_channels(small_frame(), path)


def test_names_that_are_not_text_or_files_that_are_not_there_are_refused(tmp_path):
    df = small_frame()
    with pytest.raises(FileNotFoundError):
        tk.name_channels(df, tmp_path / "absent.csv")
    (tmp_path / "latin1.csv").write_bytes("channel_id,channel_name\ns1,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        tk.name_channels(df, tmp_path / "latin1.csv")
    with pytest.raises(ValueError, match="must be text"):
        tk.name_channels(df, {"s1": 5})
    with pytest.raises(ValueError, match="channel ids must be non-empty text"):
        tk.name_channels(df, {None: "x"})
    with pytest.raises(TypeError, match="mapping"):
        tk.name_channels(df, [("s1", "x")])
    with pytest.raises(KeyError, match="channel_id"):
        tk.name_channels(pd.DataFrame({"x": [1]}), {"s1": "x"})


def test_channel_labels_fall_back_to_a_short_id():
    df = small_frame(channel_id=["0cf4deea-d612-4204", "short", None], channel_name=[None, None, None])
    df.loc[2, "channel_name"] = "Named"
    assert channel_labels(df).tolist() == ["0cf4deea\u2026", "short", "Named"]


def test_csv_and_snapshots_keep_channel_names_exactly(tmp_path):
    names = ["=HYPERLINK(\"x\")", "'quoted", "Msaada Arusha 🌸"]
    df = small_frame(channel_name=names)
    pd.testing.assert_frame_equal(tk.read_csv(tk.to_csv(df, tmp_path / "c.csv")), df)
    tk.save_snapshot(df, tmp_path / "history")
    back = tk.load_snapshots(tmp_path / "history")
    assert list(back.columns) == [*tk.SCHEMA, "channel_name", "snapshot_at"]
    got = dict(zip(back["conversation_id"], back["channel_name"], strict=True))
    assert got == dict(zip(df["conversation_id"], names, strict=True))


def test_files_from_before_channel_names_read_back_with_them_missing(tmp_path):
    df = small_frame(channel_name=["Duka", "Malipo", "Mauzo Bot"])
    old_csv = tmp_path / "old.csv"
    with old_csv.open("w", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(tk.to_csv(df, tmp_path / "new.csv").open(encoding="utf-8-sig")))
        csv.writer(handle).writerows([row[:13] for row in rows])
    assert tk.read_csv(old_csv)["channel_name"].isna().all()
    # An old snapshot next to a new one: both read, the old one's names missing.
    root = tmp_path / "history"
    old_files = tk.save_snapshot(df, root, snapshot_at="2026-11-20T09:00Z")
    old_file = next(path for path in old_files if "provider=briq" in path.as_posix())
    pq.write_table(pq.read_table(old_file).drop_columns(["channel_name"]), old_file)
    tk.save_snapshot(df, root, snapshot_at="2026-11-21T09:00Z")
    back = tk.load_snapshots(root)
    by_day = back.groupby(back["snapshot_at"].dt.day)["channel_name"].count()
    assert by_day.to_dict() == {20: 1, 21: 3}  # day 20: only the wassist file kept its names
    counted = tk.query_snapshots("SELECT count(channel_name) AS n FROM snapshots", root)
    assert counted["n"].iloc[0] == 4
