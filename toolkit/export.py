"""CSV that opens safely in a spreadsheet and reads back exactly.

Contact names are written by end users, so a name such as ``=HYPERLINK(...)`` must not
become a live formula when the file is opened. :func:`to_csv` prefixes every text cell
that could start a formula with an apostrophe (and doubles a leading apostrophe, so the
escape is reversible); :func:`read_csv` removes exactly that prefix. Missing values are
empty cells; an empty string is written as a lone apostrophe so that it stays distinct
from missing. Timestamps are ISO 8601 UTC (``2026-09-29T01:00:00.000000Z``). The file
starts with a UTF-8 byte order mark so spreadsheets read names in any script correctly.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ._files import write_atomically
from ._frames import require_columns
from ._schema import BOOLEAN, INT, SCHEMA, STRING, TIMESTAMP, conform

__all__ = ["to_csv", "read_csv", "FORMULA_TRIGGERS"]

#: First characters that make a spreadsheet treat a cell as a formula (or DDE command),
#: including full-width and small look-alikes some spreadsheets normalise.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n|%" "\uff1d\ufe66\uff0b\ufe62\uff0d\ufe63\uff20\u2212")
ESCAPE = "'"
_ENCODING = "utf-8-sig"


def _escape(text: str) -> str:
    if text == "":
        return ESCAPE
    first = text[0]
    stripped = text.lstrip()
    if first == ESCAPE or first in FORMULA_TRIGGERS or (stripped and stripped[0] in FORMULA_TRIGGERS):
        return ESCAPE + text
    return text


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [name for name in df.columns
            if pd.api.types.is_string_dtype(df[name].dtype) or df[name].dtype == object
            or isinstance(df[name].dtype, pd.CategoricalDtype)]


#: Names of other formats ``to_csv`` refuses, and what writes each.
_NOT_CSV = {suffix: "tk.to_excel writes a workbook" for suffix in (".xlsx", ".xlsm", ".xls", ".ods")} | {
    ".parquet": "tk.save_snapshot writes Parquet"}


def to_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as spreadsheet-safe CSV, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        A unified frame; extra columns are written after the unified ones.
    path : str or path-like
        Destination. It is replaced in one step: a crash never leaves half a file there.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError, KeyError
        ``df`` is not a frame with the unified columns.
    ValueError
        ``path`` names a workbook (``.xlsx``, ``.xls``, ``.xlsm``, ``.ods``) or Parquet.

    Examples
    --------
    >>> tk.read_csv(tk.to_csv(df, "conversations.csv"))  # doctest: +SKIP
    """
    require_columns(df, list(SCHEMA))
    target = Path(path)
    if target.suffix.lower() in _NOT_CSV:
        # A CSV under a workbook's name opens as a corrupt file, or not at all.
        writer = _NOT_CSV[target.suffix.lower()]
        raise ValueError(f"{target}: a {target.suffix} name is not for CSV; {writer}, "
                         "or give a name ending in .csv")
    frame = conform(df)
    out = pd.DataFrame(index=frame.index)
    text_columns = set(_text_columns(frame))
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(object)
        elif isinstance(column.dtype, pd.BooleanDtype):
            out[name] = column.map({True: "true", False: "false"}).astype(object)
        elif name in text_columns:
            values = column.astype(object)
            out[name] = [None if pd.isna(value) else _escape(str(value)) for value in values]
        else:
            out[name] = column.astype(object)
    out = out.astype(object).where(out.notna(), None)
    return write_atomically(target, lambda handle: out.to_csv(
        handle, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n", na_rep=""),
        encoding=_ENCODING, newline="")


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a file written by :func:`to_csv` back into the unified schema.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    pandas.DataFrame
        The unified columns in their dtypes, then any extra columns as text.

    Raises
    ------
    ValueError
        The file lacks unified columns, or a value cannot be read as its column's type.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding=_ENCODING)
    missing = [name for name in SCHEMA if name not in raw.columns]
    if missing:
        raise ValueError(f"{path}: not a toolkit CSV, missing column(s) {missing}")
    columns: dict[str, Any] = {}
    for name in raw.columns:
        column = raw[name]
        dtype = SCHEMA.get(name, STRING)
        try:
            columns[name] = _typed(column, dtype, name)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: column {name!r} holds a value that is not a {dtype}: {exc}") from exc
    return conform(pd.DataFrame(columns))


def _typed(column: pd.Series, dtype: Any, name: str) -> pd.Series:
    if dtype == TIMESTAMP:
        parsed = pd.to_datetime(column, utc=True, format="ISO8601", errors="raise")
        return parsed.astype(TIMESTAMP)
    if dtype == BOOLEAN:
        mapped = column.map({"true": True, "false": False, "True": True, "False": False})
        if (mapped.isna() & column.notna()).any():
            raise ValueError("expected true/false")
        return mapped.astype(BOOLEAN)
    if dtype == INT:
        return pd.to_numeric(column, errors="raise").astype(INT)
    # The one leading apostrophe to_csv may add comes off; vectorised, one pass per column.
    text = column.astype(STRING).str.replace(f"^{ESCAPE}", "", n=1, regex=True)
    if isinstance(dtype, pd.CategoricalDtype):
        unknown = set(text.dropna()) - set(dtype.categories)
        if unknown:
            raise ValueError(f"unknown value(s) {sorted(unknown)[:3]}")
        return text.astype(object).astype(dtype)
    return text
