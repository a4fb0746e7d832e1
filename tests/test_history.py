"""Snapshots: written atomically as Hive-partitioned Parquet, pruned on read, readable by
pyarrow and DuckDB with the right types, and a simulated history that shows trends."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import toolkit as tk
from toolkit.sandbox import HistoryConfig, SimulatedInbox, simulate_history, write_history

SIX_DAYS = HistoryConfig(days=6, wassist_conversations=60, briq_conversations=80,
                         end=datetime(2026, 11, 6, 23, tzinfo=UTC))


@pytest.fixture(scope="module")
def history_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    write_history(root, SIX_DAYS)
    return root


@pytest.fixture
def pull():
    """A frame with the awkward values a real pull has: missing values, formula-like names."""
    moment = pd.Timestamp("2026-11-21T09:15:00.123456Z")
    frame = pd.DataFrame({
        "provider": ["briq", "briq", "wassist"],
        "conversation_id": ["b1", "b2", "w1"],
        "contact_phone": ["255700000001", None, "447700900123"],
        "contact_name": ["=HYPERLINK(\"x\")", None, "José Ñandú"],
        "channel_id": ["s1", "s1", "agent-1"],
        "is_active": [True, False, None],
        "is_human_takeover": [None, None, True],
        "has_unread": [True, False, True],
        "unread_count": [3, 0, None],
        "last_message_at": [moment - pd.Timedelta(hours=2), None, moment - pd.Timedelta(minutes=5)],
        "window_open": [True, False, True],
        "window_expires_at": [moment + pd.Timedelta(hours=22), None, moment + pd.Timedelta(hours=23)],
        "fetched_at": [moment, moment, moment - pd.Timedelta(seconds=1)],
    })
    return tk.conform(frame)


def test_a_snapshot_reads_back_equal_with_its_time(pull, tmp_path):
    files = tk.save_snapshot(pull, tmp_path)
    assert sorted(path.relative_to(tmp_path).parent.as_posix() for path in files) == [
        "provider=briq/date=2026-11-21", "provider=wassist/date=2026-11-21"]
    assert all(path.name == "snapshot-20261121T091500123456Z.parquet" for path in files)
    back = tk.load_snapshots(tmp_path)
    assert (back["snapshot_at"] == pd.Timestamp("2026-11-21T09:15:00.123456Z")).all()
    assert list(back.columns) == [*tk.SCHEMA, "channel_name", "snapshot_at"]
    expected = pull.sort_values(["provider", "conversation_id"]).reset_index(drop=True)
    got = back.drop(columns="snapshot_at").sort_values(["provider", "conversation_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_nothing_but_finished_snapshots_is_ever_in_the_folder(pull, tmp_path, monkeypatch):
    real_write = pq.write_table

    def crash_halfway(table, where, **options):
        real_write(table.slice(0, 1), where, **options)
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash_halfway)
    with pytest.raises(OSError, match="disk full"):
        tk.save_snapshot(pull, tmp_path)
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []
    monkeypatch.setattr(pq, "write_table", real_write)
    assert tk.load_snapshots(tmp_path).empty


def test_two_pulls_in_the_same_instant_are_both_kept(pull, tmp_path):
    tk.save_snapshot(pull, tmp_path)
    tk.save_snapshot(pull, tmp_path)
    assert len(tk.snapshot_files(tmp_path, providers=["briq"])) == 2
    assert len(tk.load_snapshots(tmp_path, providers=["briq"])) == 4


def test_an_empty_pull_is_recorded_for_the_providers_it_covered(tmp_path):
    with pytest.raises(ValueError, match="providers"):
        tk.save_snapshot(tk.empty_frame(), tmp_path, snapshot_at="2026-11-21T09:00:00Z")
    files = tk.save_snapshot(tk.empty_frame(), tmp_path, snapshot_at="2026-11-21T09:00:00Z",
                             providers=["briq"])
    assert len(files) == 1 and pq.read_table(files[0]).num_rows == 0
    with pytest.raises(ValueError, match="fetched_at"):
        tk.save_snapshot(tk.empty_frame(), tmp_path, providers=["briq"])


def test_the_simulated_history_has_one_file_per_provider_and_day(history_root):
    files = tk.snapshot_files(history_root)
    days = sorted({path.parent.name for path in files})
    assert days == [f"date=2026-11-0{day}" for day in range(1, 7)]
    assert len(files) == 12


def test_filters_prune_to_the_partitions_asked_for(history_root):
    frame = tk.load_snapshots(history_root, since="2026-11-03", until="2026-11-04", providers=["briq"])
    assert set(frame["provider"]) == {"briq"}
    assert sorted(frame["snapshot_at"].dt.strftime("%Y-%m-%d").unique()) == ["2026-11-03", "2026-11-04"]
    # A date given as until means that whole day; an instant means that instant.
    assert frame["snapshot_at"].max() > pd.Timestamp("2026-11-04T09:00:00Z")
    earlier = tk.load_snapshots(history_root, until=pd.Timestamp("2026-11-04T08:00:00Z"))
    assert earlier["snapshot_at"].max() < pd.Timestamp("2026-11-04", tz="UTC")
    same = tk.load_snapshots(history_root, since=date(2026, 11, 3), until=date(2026, 11, 4), providers="briq")
    pd.testing.assert_frame_equal(same, frame)


def test_pruned_partitions_are_never_opened(history_root, tmp_path):
    """A broken file outside the filter cannot hurt a read that does not need it."""
    copy = tmp_path / "copy"
    for path in tk.snapshot_files(history_root):
        target = copy / path.relative_to(history_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    broken = next(path for path in tk.snapshot_files(copy, providers=["wassist"])
                  if "2026-11-02" in str(path))
    broken.write_bytes(b"not parquet at all")
    assert len(tk.load_snapshots(copy, since="2026-11-03")) > 0
    assert len(tk.load_snapshots(copy, providers=["briq"])) > 0
    with pytest.raises((tk.SnapshotError, pa.ArrowInvalid)):
        tk.load_snapshots(copy)


def test_bad_arguments_are_clear_errors(history_root, tmp_path):
    with pytest.raises(FileNotFoundError):
        tk.load_snapshots(tmp_path / "nowhere")
    # The folder above a history (the demo's output, say) names the history inside it.
    shutil.copytree(history_root, tmp_path / "out" / "history")
    with pytest.raises(tk.SnapshotError, match="but .*history does: pass that folder"):
        tk.load_snapshots(tmp_path / "out")
    (tmp_path / "empty").mkdir()
    assert len(tk.load_snapshots(tmp_path / "empty")) == 0  # a history not begun yet
    with pytest.raises(ValueError, match="provider"):
        tk.load_snapshots(history_root, providers=["whatsapp"])
    with pytest.raises(ValueError, match="before since"):
        tk.load_snapshots(history_root, since="2026-11-05", until="2026-11-01")
    with pytest.raises(ValueError, match="since"):
        tk.load_snapshots(history_root, since="last tuesday")
    # Two levels above (tmp_path holds out/history) names it too, rather than reading as empty.
    with pytest.raises(tk.SnapshotError, match="but .*out/history does: pass that folder"):
        tk.load_snapshots(tmp_path)


def test_pyarrow_reads_the_folder_with_the_right_types(history_root):
    dataset = ds.dataset(history_root, format="parquet", partitioning="hive")
    schema = dataset.schema
    assert schema.field("conversation_id").type == pa.large_string()
    assert schema.field("has_unread").type == pa.bool_()
    assert schema.field("unread_count").type == pa.int64()
    for name in ("last_message_at", "window_expires_at", "fetched_at", "snapshot_at"):
        assert schema.field(name).type == pa.timestamp("us", tz="UTC")
    assert "provider" in schema.names and "date" in schema.names
    table = dataset.to_table(filter=ds.field("provider") == "briq")
    assert table.num_rows == len(tk.load_snapshots(history_root, providers=["briq"]))


def test_duckdb_reads_the_folder_with_the_right_types(history_root):
    described = tk.query_snapshots("DESCRIBE SELECT * FROM snapshots", history_root).set_index("column_name")
    types = described["column_type"].to_dict()
    assert types["conversation_id"] == "VARCHAR"
    assert types["has_unread"] == "BOOLEAN"
    assert types["unread_count"] == "BIGINT"
    assert types["snapshot_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["last_message_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["provider"] == "VARCHAR" and types["date"] == "DATE"


def test_duckdb_and_pandas_agree_on_the_unread_backlog(history_root):
    sql = """
        SELECT provider, date, count(*) FILTER (WHERE has_unread) AS unread
        FROM snapshots WHERE date >= DATE '2026-11-03' GROUP BY ALL ORDER BY provider, date
    """
    duck = tk.query_snapshots(sql, history_root)
    frame = tk.load_snapshots(history_root, since="2026-11-03")
    by_pandas = (frame.assign(date=frame["snapshot_at"].dt.strftime("%Y-%m-%d"))
                 .groupby(["provider", "date"], observed=True)["has_unread"].sum().sort_index())
    from_duck = {(provider, pd.Timestamp(day).strftime("%Y-%m-%d")): int(unread)
                 for provider, day, unread in duck.itertuples(index=False)}
    from_pandas = {(str(provider), day): int(unread) for (provider, day), unread in by_pandas.items()}
    assert len(from_duck) == 8 and from_duck == from_pandas


def test_query_needs_snapshots(tmp_path):
    with pytest.raises(FileNotFoundError, match="no snapshots"):
        tk.query_snapshots("SELECT 1", tmp_path)


@pytest.mark.parametrize(("sql", "said"), [
    ("SELEC 1", "syntax error"), ("SELECT nosuch FROM snapshots", "nosuch"),
    ("SELECT * FROM elsewhere", "elsewhere"),
])
def test_a_query_that_does_not_run_is_a_value_error_in_duckdbs_words(history_root, sql, said):
    with pytest.raises(ValueError, match=f"the query did not run: .*{said}"):
        tk.query_snapshots(sql, history_root)


@pytest.mark.parametrize("damage", ["not parquet", "a page overwritten"])
def test_a_damaged_file_is_the_folders_error_not_the_querys(history_root, tmp_path, damage):
    copy = tmp_path / "copy"
    shutil.copytree(history_root, copy)
    broken = tk.snapshot_files(copy)[0]
    data = bytearray(broken.read_bytes())
    if damage == "not parquet":
        data = bytearray(b"not parquet at all")
    else:  # the footer intact, the data pages behind it garbage
        data[4:len(data) // 2] = b"\xff" * (len(data) // 2 - 4)
    broken.write_bytes(bytes(data))
    with pytest.raises(tk.SnapshotError, match="could not be read"):
        tk.query_snapshots("SELECT count(*), max(unread_count) FROM snapshots", copy)


def test_the_simulated_history_shows_a_slipping_channel():
    """Over the last third one channel per provider answers far less: its backlog must grow."""
    inbox = SimulatedInbox(HistoryConfig(days=15, end=datetime(2026, 11, 18, 23, tzinfo=UTC)))
    frames = list(inbox.snapshots())
    assert len(frames) == 15 and all(frame["provider"].nunique() == 2 for _, frame in frames)
    history = pd.concat([frame.assign(snapshot_at=moment) for moment, frame in frames], ignore_index=True)
    history["snapshot_at"] = history["snapshot_at"].astype("datetime64[us, UTC]")
    trend = tk.unread_trend(history, by=["provider", "channel_id"])["unread_conversations"]
    trend = trend.unstack(["provider", "channel_id"], fill_value=0)
    first_week, last_days = trend.iloc[:7].mean(), trend.iloc[-3:].mean()
    for provider, channel in inbox.slipping.items():
        assert last_days[provider][channel] > last_days[provider].drop(channel).max(), last_days[provider]
        assert last_days[provider][channel] > 1.2 * first_week[provider][channel]


def test_snapshots_are_in_time_order_and_never_in_the_future():
    frames = list(simulate_history(HistoryConfig(days=3, wassist_conversations=20, briq_conversations=20)))
    moments = [moment for moment, _ in frames]
    assert moments == sorted(moments)
    assert moments[-1] <= pd.Timestamp.now(tz="UTC")
    assert all((frame["fetched_at"] == moment).all() for moment, frame in frames)


def test_files_carry_the_pull_record(history_root):
    path = tk.snapshot_files(history_root)[0]
    metadata = pq.read_schema(path).metadata
    assert b"simulated history" in metadata[b"wa_toolkit.pull"]
    assert os.path.getsize(path) > 0 and Path(path).suffix == ".parquet"


@pytest.mark.parametrize("sql", ["", "   \n"])
def test_an_empty_query_says_what_to_give(history_root, sql):
    with pytest.raises(ValueError, match="sql is empty: give a query over the view snapshots"):
        tk.query_snapshots(sql, history_root)
    with pytest.raises(TypeError, match="sql must be the query's text, got NoneType"):
        tk.query_snapshots(None, history_root)


def test_a_folder_two_levels_above_the_snapshots_says_where_they_are(history_root, tmp_path):
    import shutil

    deeper = tmp_path / "exports" / "history"
    shutil.copytree(history_root, deeper)
    with pytest.raises(tk.SnapshotError, match=f"but {deeper} does: pass that folder"):
        tk.load_snapshots(tmp_path)
