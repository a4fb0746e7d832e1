"""Snapshots of pulls kept over time: a Hive-partitioned Parquet folder anyone can read.

Layout, one file per pull and provider::

    ROOT/provider=briq/date=2026-11-21/snapshot-20261121T090000000000Z.parquet

``provider`` and ``date`` (the UTC day of the snapshot) live in the folder names only,
the way Hive, Spark, DuckDB, Polars, Dask and pyarrow expect partition columns, so each of
them reads the folder unchanged and skips the folders a filter rules out. Each file holds
the unified columns (without ``provider``), ``channel_name`` and ``snapshot_at``, and the pull's
``df.attrs["pull"]`` as JSON in the file's metadata.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ._errors import SnapshotError
from ._files import write_atomically
from ._frames import utc_instant
from ._schema import (
    COLUMNS,
    PROVIDER,
    PROVIDERS,
    SNAPSHOT_COLUMN,
    TIMESTAMP,
    conform,
    empty_frame,
    provider_name,
)

__all__ = ["save_snapshot", "load_snapshots", "snapshot_files", "query_snapshots", "SNAPSHOT_COLUMN"]

_FILE_PATTERN = re.compile(r"^snapshot-\d{8}T\d{12}Z(-[0-9a-f]{8})?\.parquet$")
_METADATA_KEY = b"wa_toolkit.pull"
_PARTITIONING = ds.partitioning(pa.schema([("provider", pa.string()), ("date", pa.string())]), flavor="hive")
_ARROW_TO_PANDAS = {
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.bool_(): pd.BooleanDtype(),
    pa.int64(): pd.Int64Dtype(),
}
_TEXT, _FLAG, _TIME = pa.large_string(), pa.bool_(), pa.timestamp("us", tz="UTC")
#: What each file holds: the toolkit's columns but ``provider`` (a partition), then ``snapshot_at``.
_FILE_SCHEMA = pa.schema([
    ("conversation_id", _TEXT), ("contact_phone", _TEXT), ("contact_name", _TEXT), ("channel_id", _TEXT),
    ("is_active", _FLAG), ("is_human_takeover", _FLAG), ("has_unread", _FLAG), ("unread_count", pa.int64()),
    ("last_message_at", _TIME), ("window_open", _FLAG), ("window_expires_at", _TIME), ("fetched_at", _TIME),
    ("channel_name", _TEXT), (SNAPSHOT_COLUMN, _TIME),
])
assert [name for name in COLUMNS if name != "provider"] == _FILE_SCHEMA.names[:-1]
#: How the folder reads as one dataset: files written before ``channel_name`` existed lack
#: it, and read it as missing.
_DATASET_SCHEMA = _FILE_SCHEMA.append(pa.field("provider", pa.string())).append(pa.field("date", pa.string()))


def save_snapshot(df: pd.DataFrame, root: str | os.PathLike, snapshot_at: Any = None,
                  providers: Sequence[str] | None = None) -> list[Path]:
    """Write a pull as one Parquet file per provider under ``root``, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame in the unified schema (columns beyond it are not kept).
    root : str or path
        The history folder; created if missing.
    snapshot_at : str, datetime or Timestamp, optional
        When the snapshot was taken (naive means UTC). Defaults to the latest
        ``fetched_at`` of the frame: the moment the pull saw, as the metrics use it.
    providers : list of str, optional
        The providers the pull covered. A provider without rows still gets a file with
        none (an empty backlog is a fact worth keeping). Defaults to the providers present
        in ``df`` and those its ``attrs`` name.

    Returns
    -------
    list of pathlib.Path
        The files written, one per provider.

    Raises
    ------
    ValueError
        When the snapshot cannot be dated (no ``fetched_at`` and no ``snapshot_at``), a
        row has no provider, or no provider is known for an empty frame.

    Notes
    -----
    Each file is written beside its final name (a dot-file that readers skip), flushed
    and renamed: a crash leaves either the whole file or none.

    Examples
    --------
    >>> import toolkit as tk
    >>> tk.save_snapshot(tk.load_conversations(), "history")  # doctest: +SKIP
    [PosixPath('history/provider=wassist/date=2026-11-21/snapshot-20261121T090000123456Z.parquet'), ...]
    """
    frame = conform(df)
    moment = _snapshot_moment(frame, snapshot_at)
    if frame["provider"].isna().any():
        raise ValueError("every row needs a provider ('wassist' or 'briq') to be filed under")
    covered = _check_providers(providers) if providers is not None else (
        set(frame["provider"].dropna().astype(str)) | _providers_in_attrs(df.attrs))
    if not covered:
        raise ValueError("an empty frame does not say which provider it is from; pass providers=[...]")
    root = Path(root)
    stem = moment.strftime("snapshot-%Y%m%dT%H%M%S%fZ")
    provenance = df.attrs.get("pulls", df.attrs.get("pull", {}))
    metadata = {_METADATA_KEY: json.dumps(provenance, default=str).encode()}
    written = []
    for provider in (name for name in PROVIDERS if name in covered):
        folder = root / f"provider={provider}" / f"date={moment:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{stem}.parquet"
        if target.exists():
            # Two pulls in the same microsecond: keep both rather than lose one.
            target = folder / f"{stem}-{uuid.uuid4().hex[:8]}.parquet"
        table = _to_table(frame[frame["provider"] == provider], moment).replace_schema_metadata(metadata)
        write_atomically(target, partial(_write_parquet, table), binary=True)
        written.append(target)
    return written


def _write_parquet(table: pa.Table, handle: Any) -> None:
    pq.write_table(table, handle, compression="zstd")


def _providers_in_attrs(attrs: dict) -> set[str]:
    named = set(attrs.get("pulls", {})) | {attrs.get("pull", {}).get("provider")}
    return {name for name in named if name in PROVIDERS}


def snapshot_files(root: str | os.PathLike, since: Any = None, until: Any = None,
                   providers: Sequence[str] | None = None) -> list[Path]:
    """The snapshot files under ``root`` whose partitions the filters keep, oldest first."""
    return _files_within(_existing_root(root), *_bounds(since, until), _check_providers(providers))


def _files_within(root: Path, low: pd.Timestamp | None, high: pd.Timestamp | None,
                  wanted: set[str]) -> list[Path]:
    kept = []
    for path in root.glob("provider=*/date=*/*.parquet"):
        if not _FILE_PATTERN.match(path.name):
            continue
        provider = path.parent.parent.name.split("=", 1)[1]
        day = path.parent.name.split("=", 1)[1]
        if provider in wanted and _day_in(day, low, high):
            kept.append(path)
    return sorted(kept, key=lambda path: (path.name, path.parent.parent.name))


def load_snapshots(root: str | os.PathLike, since: Any = None, until: Any = None,
                   providers: Sequence[str] | None = None) -> pd.DataFrame:
    """Read snapshots back in the unified schema, plus ``snapshot_at``.

    Only the partitions (provider, day) the filters allow are opened.

    Parameters
    ----------
    root : str or path
        A folder written by :func:`save_snapshot`.
    since, until : str, date, datetime or Timestamp, optional
        Keep snapshots taken at or after ``since`` and at or before ``until`` (naive
        means UTC). A date, or a date-only string such as ``"2026-11-20"``, given as
        ``until`` means the whole of that day.
    providers : list of str, optional
        ``"wassist"`` and/or ``"briq"``; all by default.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`toolkit.SCHEMA`, ``channel_name``, then ``snapshot_at``; ordered by
        ``snapshot_at``, then provider, then most recently active first as loaded.
        ``attrs["simulated"]`` is true when a snapshot read comes from a simulation
        (``wa-toolkit sample-history``, ``wa-toolkit demo``), so reports can say so.
        ``df.attrs["pulls"]`` holds, per provider, the record of the pull behind its
        latest snapshot (filters, server, start; never a key) and
        ``df.attrs["snapshots"]`` that snapshot's ``snapshot_at``: what
        :func:`toolkit.refresh` needs to bring the latest snapshot up to date.

    Raises
    ------
    FileNotFoundError
        When ``root`` does not exist.
    ValueError
        For an unknown provider or an unreadable bound.
    SnapshotError
        When a file in the folder does not have the snapshot columns, or when ``root``
        holds no snapshots but a folder inside it does (the message names it).

    Examples
    --------
    >>> import toolkit as tk
    >>> history = tk.load_snapshots("history", since="2026-11-01", providers=["briq"])  # doctest: +SKIP
    """
    low, high = _bounds(since, until)
    files = _files_within(_existing_root(root), low, high, _check_providers(providers))
    if not files:
        return _empty_history()
    latest = _latest_pulls(files, low, high)
    dataset = ds.dataset([str(path) for path in files], schema=_DATASET_SCHEMA, format="parquet",
                         partitioning=_PARTITIONING, partition_base_dir=str(Path(root)))
    condition = None
    if low is not None:
        condition = ds.field(SNAPSHOT_COLUMN) >= pa.scalar(low.to_pydatetime(), pa.timestamp("us", tz="UTC"))
    if high is not None:
        upper = ds.field(SNAPSHOT_COLUMN) <= pa.scalar(high.to_pydatetime(), pa.timestamp("us", tz="UTC"))
        condition = upper if condition is None else condition & upper
    try:
        table = dataset.to_table(columns=[*_FILE_SCHEMA.names, "provider"], filter=condition)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SnapshotError(f"{root}: a file there is not a toolkit snapshot ({exc})") from None
    frame = table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get)
    frame["provider"] = frame["provider"].astype("object").astype(PROVIDER)
    frame = conform(frame)
    frame[SNAPSHOT_COLUMN] = frame[SNAPSHOT_COLUMN].astype(TIMESTAMP)
    order = frame[SNAPSHOT_COLUMN].rank(method="dense").astype("int64") * 2 + frame["provider"].cat.codes
    history = frame.iloc[order.argsort(kind="stable")].reset_index(drop=True)
    history.attrs = {"simulated": _any_simulated(files),
                     "pulls": {provider: record for provider, (_, record) in latest.items()},
                     "snapshots": {provider: moment.isoformat() for provider, (moment, _) in latest.items()}}
    return history


def _file_moment(path: Path) -> pd.Timestamp:
    """The ``snapshot_at`` a file's name carries (``snapshot-20261121T090000123456Z...``)."""
    return pd.Timestamp(datetime.strptime(path.name[9:30], "%Y%m%dT%H%M%S%f")).tz_localize("UTC")


def _latest_pulls(files: list[Path], low: pd.Timestamp | None,
                  high: pd.Timestamp | None) -> dict[str, tuple[pd.Timestamp, dict[str, Any]]]:
    """Per provider, the latest snapshot within the bounds and its pull's record."""
    latest: dict[str, tuple[pd.Timestamp, Path]] = {}
    for path in files:
        moment = _file_moment(path)
        if (low is not None and moment < low) or (high is not None and moment > high):
            continue
        provider = path.parent.parent.name.split("=", 1)[1]
        if provider not in latest or moment >= latest[provider][0]:
            latest[provider] = (moment, path)
    return {provider: (moment, _pull_record(path, provider)) for provider, (moment, path) in latest.items()}


def _pull_record(path: Path, provider: str) -> dict[str, Any]:
    """The record of ``provider``'s pull kept in a snapshot file's metadata; ``{}`` if none."""
    try:
        metadata = pq.read_schema(path).metadata or {}
        stored = json.loads(metadata.get(_METADATA_KEY, b"{}"))
    except (OSError, ValueError, pa.ArrowException):
        return {}
    if not isinstance(stored, dict):
        return {}
    # One loader's record ({"provider": ...}) or load_conversations' {name: record}.
    record = stored if stored.get("provider") == provider else stored.get(provider)
    return record if isinstance(record, dict) else {}


def _any_simulated(files: Sequence[Path]) -> bool:
    """Whether a file's pull record marks it simulated (``write_history``, ``wa-toolkit demo``)."""
    return any(map(_simulated, files))


def clear_simulated_history(root: str | os.PathLike) -> int:
    """Remove the simulated snapshots under ``root`` (a folder about to hold a new simulated
    history: written twice into one folder, every day would hold each conversation twice);
    return how many files went. A missing or empty folder has none.

    Raises
    ------
    SnapshotError
        ``root`` holds snapshots of live pulls (the folder is theirs, and a simulation beside
        them would mix into their trends), or holds none itself but a folder inside it does.
    """
    folder = Path(root)
    files = snapshot_files(folder) if folder.is_dir() else []
    if not all(map(_simulated, files)):
        raise SnapshotError(f"{folder}: holds snapshots of live pulls; name an empty folder for the "
                            "simulated history")
    for path in files:
        path.unlink()
        for partition in (path.parent, path.parent.parent):  # date=DAY, then provider=NAME
            with contextlib.suppress(OSError):  # still holding files (or already gone)
                partition.rmdir()
    return len(files)


def _simulated(path: Path) -> bool:
    """Whether a snapshot file's pull record marks it simulated (``write_history``, ``wa-toolkit demo``)."""
    try:
        record = (pq.read_schema(path).metadata or {}).get(_METADATA_KEY)
        pulls = json.loads(record) if record else {}
    except (OSError, ValueError, pa.ArrowException):
        return False
    return isinstance(pulls, dict) and any(isinstance(pull, dict) and pull.get("simulated") is True
                                           for pull in [pulls, *pulls.values()])


def query_snapshots(sql: str, root: str | os.PathLike) -> pd.DataFrame:
    """Run SQL over the history with DuckDB (embedded, no server); returns a DataFrame.

    The folder is visible as the view ``snapshots``: the file columns plus the partition
    columns ``provider`` (text) and ``date`` (a date). Filters on ``provider``, ``date``
    or ``snapshot_at`` skip the folders and row groups they rule out.

    Parameters
    ----------
    sql : str
        A query that reads ``snapshots``.
    root : str or path
        A folder written by :func:`save_snapshot`.

    Raises
    ------
    FileNotFoundError
        ``root`` holds no snapshot.
    ValueError
        The query does not run (a syntax error, a column or table that does not exist).
    SnapshotError
        A snapshot file that cannot be read (damaged, or not Parquet).

    Examples
    --------
    >>> import toolkit as tk
    >>> tk.query_snapshots('''
    ...     SELECT date, provider, count(*) FILTER (WHERE has_unread) AS unread
    ...     FROM snapshots WHERE date >= DATE '2026-11-01' GROUP BY ALL ORDER BY ALL
    ... ''', "history")  # doctest: +SKIP
    """
    import duckdb

    if not isinstance(sql, str):
        raise TypeError(f"sql must be the query's text, got {type(sql).__name__}")
    if not sql.strip():
        raise ValueError("sql is empty: give a query over the view snapshots, such as "
                         "'SELECT provider, count(*) FROM snapshots GROUP BY ALL'")
    if not snapshot_files(root):
        raise FileNotFoundError(f"{root}: no snapshots there yet (write some with tk.save_snapshot)")
    pattern = str(Path(root) / "provider=*" / "date=*" / "snapshot-*.parquet").replace("'", "''")
    # Errors of the query itself are the caller's; the rest (a damaged file comes back as a
    # plain duckdb.Error, an IO or an invalid-input one) the folder's; an interrupt goes on.
    query_at_fault = (duckdb.ParserException, duckdb.SyntaxException, duckdb.BinderException,
                      duckdb.CatalogException, duckdb.ConversionException, duckdb.OutOfRangeException,
                      duckdb.TypeMismatchException, duckdb.InvalidTypeException,
                      duckdb.NotImplementedException)
    with duckdb.connect() as connection:
        try:
            connection.execute(
                f"CREATE VIEW snapshots AS SELECT * FROM read_parquet('{pattern}', hive_partitioning = true, "
                "union_by_name = true, hive_types = {'provider': VARCHAR, 'date': DATE})")
        except duckdb.InterruptException:
            raise
        except duckdb.Error as error:
            raise SnapshotError(f"{root}: the snapshot files could not be read: {error}") from error
        try:
            relation = connection.sql(sql)
            if relation is None:  # a statement with no result (CREATE, SET, ...)
                raise ValueError("the statement ran but returns no rows: give a SELECT (or another query "
                                 "with a result)")
            return relation.df()
        except duckdb.InterruptException:
            raise
        except query_at_fault as error:
            # A mistyped query is the caller's error, reported as the toolkit reports bad
            # arguments, with DuckDB's own words (they point at the spot).
            raise ValueError(f"the query did not run: {error}") from error
        except duckdb.Error as error:
            raise SnapshotError(f"{root}: a snapshot file could not be read: {error}") from error


# -- helpers -------------------------------------------------------------------------------


def _snapshot_moment(frame: pd.DataFrame, snapshot_at: Any) -> pd.Timestamp:
    if snapshot_at is None:
        latest = frame["fetched_at"].max() if len(frame) else pd.NaT
        if pd.isna(latest):
            raise ValueError("cannot date a snapshot without fetched_at values; pass snapshot_at")
        return pd.Timestamp(latest).tz_convert("UTC")
    return utc_instant(snapshot_at, "snapshot_at")


def _bounds(since: Any, until: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    low = utc_instant(since, "since") if since is not None else None
    high = None
    if until is not None:
        high = utc_instant(until, "until")
        whole_day = (isinstance(until, date) and not isinstance(until, datetime)) or (
            isinstance(until, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", until))
        if whole_day:
            high = high + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if low is not None and high is not None and high < low:
        raise ValueError(f"until ({high}) is before since ({low})")
    return low, high


def _day_in(day: str, low: pd.Timestamp | None, high: pd.Timestamp | None) -> bool:
    # ISO days compare as text in calendar order.
    return ((low is None or day >= low.strftime("%Y-%m-%d"))
            and (high is None or day <= high.strftime("%Y-%m-%d")))


def _check_providers(providers: Sequence[str] | None) -> set[str]:
    if providers is None:
        return set(PROVIDERS)
    if isinstance(providers, str):
        providers = [providers]
    providers = [provider_name(name) for name in providers]
    unknown = [name for name in providers if name not in PROVIDERS]
    if unknown:
        raise ValueError(f"unknown provider(s) {unknown}; choose from {list(PROVIDERS)}")
    return set(providers)


def _existing_root(root: str | os.PathLike) -> Path:
    """``root`` as a path, checked: a folder, and not the folder above a snapshot folder."""
    path = Path(root)
    if not path.is_dir():
        raise FileNotFoundError(f"no snapshot folder at {path}")
    if not _holds_partitions(path):
        # A folder one level too high (the demo's output rather than its history, say) would
        # read as an empty history: say where the snapshots are instead.
        # Two levels down too: the folder above the demo's output, say.
        below = sorted(child for child in (*path.glob("*/"), *path.glob("*/*/"))
                       if child.is_dir() and _holds_partitions(child))
        if below:
            raise SnapshotError(f"{path} holds no snapshots itself, but {below[0]} does: pass that folder")
    return path


def _holds_partitions(folder: Path) -> bool:
    """Whether ``folder`` holds a provider partition (``provider=...``) of snapshots."""
    return any(child.is_dir() and child.name.startswith("provider=") for child in folder.iterdir())


def _to_table(rows: pd.DataFrame, moment: pd.Timestamp) -> pa.Table:
    columns = {}
    for field in _FILE_SCHEMA:
        if field.name == SNAPSHOT_COLUMN:
            columns[field.name] = pa.array([moment.to_pydatetime()] * len(rows), type=field.type)
        else:
            columns[field.name] = pa.Array.from_pandas(rows[field.name].reset_index(drop=True),
                                                       type=field.type)
    return pa.Table.from_pydict(columns, schema=_FILE_SCHEMA)


def _empty_history() -> pd.DataFrame:
    frame = empty_frame()
    frame[SNAPSHOT_COLUMN] = pd.Series([], dtype=TIMESTAMP)
    return frame
