"""An Excel workbook for people who live in spreadsheets: typed cells, local times, no formulas.

CSV stays what it is (an exact round trip); a workbook is what a support lead opens and
forwards. Cells are typed here, not guessed by the spreadsheet: text (phones and ids
included) is a text cell, never a number and never a formula, shown exactly as written;
times are date-time cells holding the wall-clock time of one zone; booleans are booleans;
missing values are empty cells. Written with XlsxWriter, which writes cells as told.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from . import metrics
from ._errors import DataQualityWarning
from ._files import write_atomically
from ._frames import resolve_as_of
from ._limits import AT_RISK_WITHIN
from ._redact import redact
from ._schema import SCHEMA, conform
from ._tz import describe_tz, local_wall_clock, resolve_tz
from .display import holds_days, horizon_words, trend_period
from .export import FORMULA_TRIGGERS

__all__ = ["to_excel", "MAX_ROWS"]

#: Rows a sheet holds below its header (Excel's limit is 1,048,576 rows in all).
MAX_ROWS = 1_048_575
_MAX_CELL_TEXT = 32_767  # characters Excel keeps in one cell
# The 1900 date system: day 0 is 1899-12-30 (which absorbs Excel's phantom 1900-02-29),
# so serial numbers are right from 1900-03-01 on; Excel shows nothing after 9999.
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_FIRST_DATE = pd.Timestamp("1900-03-01")
_LAST_DATE = pd.Timestamp("9999-12-31 23:59:59")
_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
_DAY_FORMAT = "yyyy-mm-dd"
_DURATION_FORMAT = "[h]:mm:ss"
_MIN_WIDTH, _MAX_WIDTH = 8, 48
_WIDTH_SAMPLE = 5_000  # rows measured for column widths
_HIDDEN_WORDS = ("key", "secret", "token", "password", "authorization")

SHEETS = ("conversations", "at risk", "about")


def to_excel(df: pd.DataFrame, path: str | os.PathLike[str], *, tz: str | None = None,
             within: Any = AT_RISK_WITHIN, as_of: Any = None) -> Path:
    """Write ``df`` as an ``.xlsx`` workbook, atomically.

    Sheets: ``conversations`` (every row and column of ``df``, header frozen, filters on,
    columns sized to their contents), ``at risk`` (:func:`toolkit.at_risk` of ``df``, with
    ``window_remaining`` as a duration) and ``about`` (the time zone, when the data was
    pulled and from where: ``df.attrs`` provenance, never a key).

    Any other frame (a summary such as :func:`toolkit.unread_summary`'s, or some of the
    conversations' columns) is written as one sheet, ``table``, typed the same way, its
    index as leading columns when it labels the rows, and an ``about`` sheet.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame in the unified schema (a loader's, :func:`toolkit.read_csv`'s, ...);
        extra columns are written after the toolkit's. Or any other frame (see above).
    path : str or path-like
        Destination ending in ``.xlsx``. Replaced in one step: a crash never leaves half
        a file there.
    tz : str, optional
        IANA zone the times are shown in (``"Africa/Dar_es_Salaam"``); default
        ``WA_TOOLKIT_TZ``, else UTC. Cells hold that zone's wall-clock time; the frame
        itself is not changed.
    within : str or Timedelta, default "2h"
        Horizon of the ``at risk`` sheet.
    as_of : str, datetime or Timestamp, optional
        Moment the ``at risk`` sheet is measured at; default the latest ``fetched_at``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        ``df`` is not a frame.
    ValueError
        ``path`` does not end in ``.xlsx``, ``tz`` is not an IANA zone name, ``df`` has
        more rows than a sheet holds, or (a table) two columns share a name.

    Warns
    -----
    DataQualityWarning
        A text longer than a cell holds (32,767 characters) was cut, or a time outside
        the years Excel shows (1900-03-01 to 9999) was written as text; the ``about``
        sheet says so too.

    Examples
    --------
    >>> tk.to_excel(df, "conversations.xlsx", tz="Africa/Dar_es_Salaam")  # doctest: +SKIP
    PosixPath('conversations.xlsx')
    """
    if isinstance(df, pd.Series):  # a count per group, a timeline: one column
        df = df.to_frame(name="value" if df.name is None else df.name)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"to_excel writes a pandas DataFrame or Series, got {type(df).__name__}")
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"{target}: an Excel workbook's name must end in .xlsx")
    zone = resolve_tz(tz)
    if len(df) > MAX_ROWS:
        raise ValueError(f"{len(df):,} rows are more than an Excel sheet holds ({MAX_ROWS:,}); "
                         "filter the frame first or use tk.to_csv")
    if not set(SCHEMA) <= set(df.columns):
        return _table_workbook(df, target, zone)
    frame = conform(df)
    moment = resolve_as_of(frame, as_of) if len(frame) else None
    risky = metrics.at_risk(frame, within=within, as_of=moment) if len(frame) else frame.assign(
        window_remaining=pd.Series([], dtype="timedelta64[us]"))
    about = _about(df.attrs, frame, risky, zone, within, moment)

    def write(handle: IO[bytes]) -> None:
        import xlsxwriter

        # Every cell is typed below; nothing is ever guessed from a string's look.
        book = xlsxwriter.Workbook(handle, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_numbers": False, "strings_to_urls": False})
        sheet_writer = _SheetWriter(book, zone)
        sheet_writer.table("conversations", frame)
        sheet_writer.table("at risk", risky.reset_index(drop=True))
        sheet_writer.about(about)
        book.close()

    return write_atomically(target, write, binary=True)


def _table_workbook(df: pd.DataFrame, target: Path, zone: str) -> Path:
    """Any other frame (a summary, some columns of the conversations) as one typed sheet,
    ``table``, with its index as leading columns when it labels the rows, and an ``about``
    sheet saying which zone its times are in."""
    # An index labels the rows (a summary's groups, a trend's moments, describe()'s statistics)
    # unless it is row numbers (of a filtered frame, say), which mean nothing in a sheet.
    labelled = any(name is not None for name in df.index.names) or not (
        isinstance(df.index, pd.RangeIndex) or pd.api.types.is_integer_dtype(df.index.dtype))
    names = pd.Index([_header_text(name) for name in [*(df.index.names if labelled else []), *df.columns]])
    if not names.is_unique:
        twice = sorted(set(names[names.duplicated()]))
        raise ValueError(f"to_excel needs one column of each name (the index's levels counted); {twice} "
                         "appear more than once")
    table = (df.reset_index() if labelled else df.reset_index(drop=True)).set_axis(names, axis=1)
    levels = range(df.index.nlevels) if labelled else range(0)
    period = trend_period(df)
    days = [names[level] for level in levels
            if isinstance(df.index.get_level_values(level), pd.DatetimeIndex)
            and holds_days(df.index.get_level_values(level), period)]  # dates, as tk.readable shows them
    about: list[tuple[str, Any]] = [("times are in", describe_tz(zone)), ("time zone (IANA)", zone),
                                    ("written at", pd.Timestamp.now(tz="UTC")), ("rows", len(table))]

    def write(handle: IO[bytes]) -> None:
        import xlsxwriter

        book = xlsxwriter.Workbook(handle, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_numbers": False, "strings_to_urls": False})
        sheet_writer = _SheetWriter(book, zone)
        sheet_writer.table("table", table, days=days)
        sheet_writer.about(about)
        book.close()

    return write_atomically(target, write, binary=True)


def _header_text(name: Any) -> str:
    """A column's name as its header: a MultiIndex column's levels joined by spaces."""
    if isinstance(name, tuple):
        return " ".join(str(part) for part in name if part is not None and str(part) != "")
    return str(name)


class _SheetWriter:
    """Writes frames into typed cells of one workbook and remembers what it had to adapt."""

    def __init__(self, book: Any, zone: str) -> None:
        self.book = book
        self.zone = zone
        self.header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#EEF2F6"})
        self.date = book.add_format({"num_format": _DATE_FORMAT})
        self.day = book.add_format({"num_format": _DAY_FORMAT})
        self.share = book.add_format({"num_format": "0.0%"})
        self.duration = book.add_format({"num_format": _DURATION_FORMAT})
        # A text cell that starts like a formula is already inert (it is a text cell); the
        # quote prefix also keeps it text when someone edits it, and shows no apostrophe.
        self.inert = book.add_format({"quote_prefix": True})
        self.cut_texts = 0
        self.text_times = 0

    def table(self, name: str, frame: pd.DataFrame, days: Sequence[str] = ()) -> None:
        """A sheet of ``frame``; columns named in ``days`` hold UTC days, written as dates."""
        sheet = self.book.add_worksheet(name)
        for col, column_name in enumerate(frame.columns):
            sheet.write_string(0, col, str(column_name), self.header)
            if column_name in days:
                values = frame[column_name]
                own = values.dt.tz if isinstance(values.dtype, pd.DatetimeTZDtype) else None
                self._times(sheet, col, values.dt.tz_localize(None) if own is not None else values,
                            number_format=self.day)
                sheet.set_column(col, col, max(len(str(column_name)) + 3, 12))
                sheet.write_comment(0, col, f"Days of {describe_tz(str(own))}" if own is not None else "Days")
                continue
            width = self._column(sheet, col, frame[column_name])
            sheet.set_column(col, col, width)
            if isinstance(frame[column_name].dtype, pd.DatetimeTZDtype):
                sheet.write_comment(0, col, f"Times in {describe_tz(self.zone)}")
        sheet.freeze_panes(1, 0)
        if len(frame.columns):
            sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)

    def about(self, rows: list[tuple[str, Any]]) -> None:
        rows = rows + self.notes()
        sheet = self.book.add_worksheet("about")
        sheet.write_string(0, 0, "item", self.header)
        sheet.write_string(0, 1, "value", self.header)
        for row, (item, value) in enumerate(rows, start=1):
            sheet.write_string(row, 0, item)
            self._value(sheet, row, 1, value)
        sheet.set_column(0, 0, max(len(item) for item, _ in rows) + 2)
        sheet.set_column(1, 1, 60)
        sheet.freeze_panes(1, 0)

    def notes(self) -> list[tuple[str, Any]]:
        notes = []
        if self.cut_texts:
            notes.append(("texts cut", f"{self.cut_texts} text value(s) longer than the {_MAX_CELL_TEXT:,} "
                                       "characters a cell holds were cut; the CSV export keeps them whole"))
        if self.text_times:
            notes.append(("times as text", f"{self.text_times} time(s) outside the years Excel shows "
                                           "(1900-03-01 to 9999) were written as ISO text"))
        for _, note in notes:
            warnings.warn(f"to_excel: {note}", DataQualityWarning, stacklevel=4)
        return notes

    # -- columns -------------------------------------------------------------------------

    def _column(self, sheet: Any, col: int, column: pd.Series) -> float:
        """Write one column's cells (row 1 on); return its width in characters."""
        dtype = column.dtype
        header_width = len(str(column.name)) + 3  # room for the filter button
        if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
            times = column if isinstance(dtype, pd.DatetimeTZDtype) else column.dt.tz_localize("UTC")
            self._times(sheet, col, local_wall_clock(times, self.zone))
            return max(header_width, 20)
        if pd.api.types.is_timedelta64_dtype(dtype):
            days = (column / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
            for row in np.flatnonzero(~np.isnan(days)):
                sheet.write_number(int(row) + 1, col, float(days[row]), self.duration)
            return max(header_width, 10)
        if pd.api.types.is_bool_dtype(dtype):
            mask = column.isna().to_numpy()
            for position, value in enumerate(column.tolist()):
                if not mask[position]:
                    sheet.write_boolean(position + 1, col, bool(value))
            return max(header_width, 7)
        if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
            mask = column.isna().to_numpy()
            values = column.tolist()
            # A share (unread_share, closing_share) reads as a percentage, as in the report.
            share = self.share if "share" in str(column.name) and pd.api.types.is_float_dtype(dtype) else None
            for row in np.flatnonzero(~mask):
                self._value(sheet, int(row) + 1, col, values[row], share)
            longest = column.dropna().head(_WIDTH_SAMPLE).astype(str).str.len().max()
            return max(header_width, (0 if pd.isna(longest) else int(longest)) + 2)
        # Text: strings, categories and anything else, value by value.
        mask = column.isna().to_numpy()
        values = column.astype(object).tolist()
        for row in np.flatnonzero(~mask):
            self._value(sheet, int(row) + 1, col, values[row])
        sample = column.dropna().head(_WIDTH_SAMPLE).astype(str).str.len()
        longest = 0 if sample.empty else int(sample.max())
        return float(min(_MAX_WIDTH, max(_MIN_WIDTH, header_width, longest + 2)))

    def _times(self, sheet: Any, col: int, wall_clock: pd.Series, first_row: int = 1,
               number_format: Any = None) -> None:
        """Wall-clock times as date-time cells (serial day numbers with a date format)."""
        inside = wall_clock.between(_FIRST_DATE, _LAST_DATE).to_numpy()
        serials = ((wall_clock - _EXCEL_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
        for row in np.flatnonzero(inside):
            sheet.write_number(int(row) + first_row, col, float(serials[row]), number_format or self.date)
        outside = np.flatnonzero(~inside & wall_clock.notna().to_numpy())
        for row in outside:
            sheet.write_string(int(row) + first_row, col, wall_clock.iloc[row].isoformat())
        self.text_times += len(outside)

    def _value(self, sheet: Any, row: int, col: int, value: Any, number_format: Any = None) -> None:
        """One cell, typed by the Python value (a number in ``number_format``, when given)."""
        if value is None or value is pd.NA or value is pd.NaT:
            return
        if isinstance(value, (bool, np.bool_)):
            sheet.write_boolean(row, col, bool(value))
        elif isinstance(value, (int, float, np.integer, np.floating)):
            number = float(value)
            if math.isnan(number):
                return
            if math.isinf(number):
                sheet.write_string(row, col, str(number))
            else:
                sheet.write_number(row, col, number, number_format)
        elif isinstance(value, pd.Timestamp):
            stamp = value.tz_localize("UTC") if value.tzinfo is None else value
            self._times(sheet, col, local_wall_clock(pd.Series([stamp]), self.zone), first_row=row)
        elif isinstance(value, str):
            self._text(sheet, row, col, value)
        else:
            self._text(sheet, row, col, json.dumps(value, default=str) if isinstance(value, (dict, list))
                       else str(value))

    def _text(self, sheet: Any, row: int, col: int, text: str) -> None:
        if len(text) > _MAX_CELL_TEXT:
            text = text[:_MAX_CELL_TEXT]
            self.cut_texts += 1
        stripped = text.lstrip()
        if stripped and (stripped[0] in FORMULA_TRIGGERS or text[0] in FORMULA_TRIGGERS):
            sheet.write_string(row, col, text, self.inert)
        else:
            sheet.write_string(row, col, text)


def _about(attrs: Mapping[Any, Any], frame: pd.DataFrame, risky: pd.DataFrame, zone: str, within: Any,
           moment: pd.Timestamp | None) -> list[tuple[str, Any]]:
    """The ``about`` sheet: zone, counts, and where and when the data was pulled."""
    rows: list[tuple[str, Any]] = [
        ("times are in", describe_tz(zone, moment)),
        ("time zone (IANA)", zone),
        ("written at", pd.Timestamp.now(tz="UTC")),
        ("conversations", len(frame)),
        ("data as of (latest fetched_at)", moment),
        ("at risk", f"{len(risky):,} unread conversation(s) whose reply window closes within "
                    f"{horizon_words(within)}"),
    ]
    pulls = attrs.get("pulls") or ({attrs["pull"].get("provider", "pull"): attrs["pull"]}
                                   if isinstance(attrs.get("pull"), Mapping) else {})
    for provider, record in pulls.items():
        if isinstance(record, Mapping):
            # The pages of each read are the paging engine's account, not the reader's: a
            # count here, the whole in df.attrs (a hundred rows otherwise).
            passes = record.get("passes")
            shown = {name: value for name, value in record.items() if name != "passes"}
            rows.extend((f"pull {provider}: {name}", value) for name, value in _flatten(shown))
            if isinstance(passes, Mapping):
                # A number, as every cell of the sheet: a spreadsheet reader cannot follow a
                # pointer into a Python frame.
                rows.append((f"pull {provider}: list reads", len(passes)))
    if not pulls:
        rows.append(("pull", "no record of the pull travelled with this frame"))
    return rows


def _flatten(record: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Leaves of a nested provenance record as ``("passes.conversations.pages", 3)``; no secrets."""
    leaves: list[tuple[str, Any]] = []
    for name, value in record.items():
        label = f"{prefix}{name}"
        if any(word in str(name).lower() for word in _HIDDEN_WORDS):
            continue
        if isinstance(value, Mapping):
            leaves.extend(_flatten(value, f"{label}."))
        elif isinstance(value, (bool, int, float)) or value is None:
            leaves.append((label, value))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            leaves.append((label, redact(text)))
    return leaves

