"""The README's promise, checked: Polars and Dask read the snapshot folder unchanged, with the right types."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import polars as pl
import pytest

import toolkit as tk


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Two snapshots of both providers, with missing values in every nullable column."""
    root = tmp_path_factory.mktemp("history")
    frame = tk.read_csv("data/sample_conversations.csv")
    tk.save_snapshot(frame, root)
    tk.save_snapshot(frame, root, snapshot_at=frame["fetched_at"].max() + pd.Timedelta(days=1))
    return root, tk.load_snapshots(root)


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["snapshot_at", "provider", "conversation_id"]).reset_index(drop=True)


def test_polars_reads_the_folder_with_the_right_types(history):
    root, expected = history
    scanned = pl.scan_parquet(f"{root}/**/*.parquet", hive_partitioning=True)
    schema = scanned.collect_schema()
    utc = pl.Datetime("us", "UTC")
    assert schema["conversation_id"] == pl.String and schema["contact_phone"] == pl.String
    assert schema["is_active"] == pl.Boolean and schema["has_unread"] == pl.Boolean
    assert schema["unread_count"] == pl.Int64
    assert schema["last_message_at"] == utc and schema["window_expires_at"] == utc
    assert schema["snapshot_at"] == utc
    # The partition columns, from the folder names.
    assert schema["provider"] == pl.String and schema["date"] == pl.Date
    # The partition filter and the values agree with tk.load_snapshots, missing values included.
    briq = scanned.filter(pl.col("provider") == "briq").collect()
    assert briq.height == int((expected["provider"] == "briq").sum())
    assert briq["is_human_takeover"].null_count() == briq.height  # Briq has no such notion
    frame = scanned.collect().to_pandas(use_pyarrow_extension_array=True)
    frame["provider"] = frame["provider"].astype("object").astype(tk.SCHEMA["provider"])
    got, want = ordered(frame), ordered(expected)
    for column in [name for name in tk.SCHEMA if name != "provider"] + ["snapshot_at"]:
        pd.testing.assert_series_equal(got[column].astype(want[column].dtype), want[column], obj=column)


# Dask's own parquet reader still calls a pandas method pandas 3.1 deprecates.
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_dask_reads_the_folder_with_the_right_types(history):
    root, expected = history
    lazy = dd.read_parquet(str(root), dtype_backend="pyarrow")
    types = lazy.dtypes
    assert pd.api.types.is_string_dtype(types["conversation_id"]) and types["conversation_id"] != "object"
    assert str(types["is_active"]) == "bool[pyarrow]" and str(types["unread_count"]) == "int64[pyarrow]"
    assert str(types["last_message_at"]) == "timestamp[us, tz=UTC][pyarrow]"
    assert isinstance(types["provider"], pd.CategoricalDtype)  # the partition column
    frame = lazy[lazy["provider"] == "wassist"].compute()
    want = expected[expected["provider"] == "wassist"]
    assert len(frame) == len(want)
    # Missing values stay missing (Wassist has no unread count), never NaN-as-float or False.
    assert frame["unread_count"].isna().all() and want["unread_count"].isna().all()
    assert frame["is_human_takeover"].isna().sum() == want["is_human_takeover"].isna().sum()
    assert sorted(frame["conversation_id"].astype(str)) == sorted(want["conversation_id"].astype(str))
