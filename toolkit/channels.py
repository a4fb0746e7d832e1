"""Channel names: who answers on the business side, as people call them, not as UUIDs.

Wassist sends an agent's name with its id in the live shape; Briq sends only a sender id.
:func:`name_channels` fills ``channel_name`` from a mapping or a small CSV file that the
team keeps (``channel_id,channel_name``), for Briq senders or to rename Wassist agents.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ._schema import SCHEMA, STRING

__all__ = ["name_channels", "read_channel_names", "channel_labels", "NAMES_FILE_COLUMNS"]

#: The header a channel-names file must carry (other columns, such as notes, are ignored).
NAMES_FILE_COLUMNS = ("channel_id", "channel_name")
# How much of an unnamed channel's id a label shows: enough to tell channels apart.
_SHORT_ID_LENGTH = 8


def read_channel_names(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a channel-names CSV file into ``{channel_id: channel_name}``.

    Parameters
    ----------
    path : str or path-like
        A CSV file (UTF-8, with or without a byte order mark, as spreadsheets save it)
        whose header holds ``channel_id`` and ``channel_name``. Values are taken exactly as
        written, less surrounding blanks; a row with a blank name names nothing.

    Returns
    -------
    dict
        Channel id to name.

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    ValueError
        The header lacks one of the two columns, the file is not UTF-8 text, a row has
        no id, or one id is given two different names.

    Examples
    --------
    >>> tk.read_channel_names("data/briq_channel_names.csv")  # doctest: +SKIP
    {'1697bfb0-539c-403c-8241-91e860d6e3b1': 'Duka Online', ...}
    """
    source = Path(path)
    try:
        with source.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except IsADirectoryError:
        raise ValueError(f"{source}: is a folder, expected a CSV file with columns "
                         f"{','.join(NAMES_FILE_COLUMNS)}") from None
    header = [cell.strip() for cell in rows[0]] if rows else []
    missing = [name for name in NAMES_FILE_COLUMNS if name not in header]
    if missing:
        found = ",".join(header) if header else "no header at all"
        raise ValueError(f"{source}: a channel-names file needs the columns {','.join(NAMES_FILE_COLUMNS)}; "
                         f"missing {','.join(missing)} (found {found})")
    id_at, name_at = (header.index(name) for name in NAMES_FILE_COLUMNS)
    names: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines, as spreadsheets sometimes leave at the end
        channel_id = row[id_at].strip() if id_at < len(row) else ""
        name = row[name_at].strip() if name_at < len(row) else ""
        if not channel_id:
            raise ValueError(f"{source}, line {line}: a row without a channel_id")
        if name:
            _add(names, channel_id, name, f"{source}, line {line}")
    return names


def name_channels(df: pd.DataFrame, names: Mapping[str, str] | str | os.PathLike[str]) -> pd.DataFrame:
    """A copy of ``df`` whose ``channel_name`` comes from ``names`` where it knows the channel.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame with a ``channel_id`` column (a loader's, :func:`toolkit.read_csv`'s,
        :func:`toolkit.load_snapshots`'s). It is not modified.
    names : mapping or str or path-like
        ``{channel_id: name}``, or the path of a CSV file with the columns
        ``channel_id,channel_name`` (see :func:`read_channel_names`).

    Returns
    -------
    pandas.DataFrame
        ``df`` with ``channel_name`` (string dtype) set to the given name for every
        channel ``names`` knows; other rows keep the name they had (or stay missing).
        A frame without ``channel_name`` gains it right after the unified columns.

    Raises
    ------
    TypeError
        ``df`` is not a DataFrame, or ``names`` is neither a mapping nor a path.
    KeyError
        ``df`` has no ``channel_id`` column.
    ValueError
        A name or id that is not text, or a channel-names file that is not readable as
        one (see :func:`read_channel_names`).
    FileNotFoundError
        ``names`` is a path with no file there.

    Examples
    --------
    >>> named = tk.name_channels(df, {"1697bfb0-539c-403c": "Duka Online"})  # doctest: +SKIP
    >>> named = tk.name_channels(df, "data/briq_channel_names.csv")  # doctest: +SKIP
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if "channel_id" not in df.columns:
        raise KeyError("the frame has no 'channel_id' column to name channels by")
    known = _as_mapping(names)
    result = df.copy()
    current = (result["channel_name"].astype(STRING) if "channel_name" in result.columns
               else pd.Series(pd.NA, index=result.index, dtype=STRING))
    given = result["channel_id"].astype(STRING).map(pd.Series(known, dtype=STRING) if known else {})
    named = given.astype(STRING).where(given.notna(), current)
    if "channel_name" in result.columns:
        result["channel_name"] = named
    else:
        unified = list(result.columns[: len(SCHEMA)]) == list(SCHEMA)
        result.insert(len(SCHEMA) if unified else len(result.columns), "channel_name", named)
    return result


def channel_labels(df: pd.DataFrame) -> pd.Series:
    """What to call each row's channel in a table or chart: its name, else a short id.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame with ``channel_id`` (and usually ``channel_name``).

    Returns
    -------
    pandas.Series
        String dtype, aligned with ``df``: ``channel_name`` where known, else the first
        eight characters of ``channel_id`` followed by an ellipsis when cut (``0cf4deea…``),
        missing where neither is known.
    """
    ids = df["channel_id"].astype(STRING)
    short = ids.where(ids.str.len() <= _SHORT_ID_LENGTH, ids.str.slice(0, _SHORT_ID_LENGTH) + "\u2026")
    if "channel_name" not in df.columns:
        return short
    names = df["channel_name"].astype(STRING)
    return names.where(names.notna(), short)


def _as_mapping(names: Any) -> dict[str, str]:
    if isinstance(names, (str, os.PathLike)):
        return read_channel_names(names)
    if not isinstance(names, Mapping):
        raise TypeError("names must be a mapping {channel_id: name} or the path of a CSV file with columns "
                        f"{','.join(NAMES_FILE_COLUMNS)}; got {type(names).__name__}")
    known: dict[str, str] = {}
    for channel_id, name in names.items():
        if not isinstance(channel_id, str) or not channel_id.strip():
            raise ValueError(f"channel ids must be non-empty text; got {channel_id!r}")
        if not isinstance(name, str):
            raise ValueError(f"the name of channel {channel_id!r} must be text; got {name!r}")
        if name.strip():
            _add(known, channel_id.strip(), name.strip(), "names")
    return known


def _add(names: dict[str, str], channel_id: str, name: str, where: str) -> None:
    earlier = names.setdefault(channel_id, name)
    if earlier != name:
        raise ValueError(f"{where}: channel {channel_id!r} is named both {earlier!r} and {name!r}")
