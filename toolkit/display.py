"""Tables for people: the same frames the functions return, written as a person reads them.

The toolkit's functions return plain typed frames (counts as integers, shares from 0 to 1,
durations as timedeltas, times in UTC) so that analysts can compute with them.
:func:`readable` is the last step before a person looks: it returns a copy with headers in
words, thousands separators, percentages, durations in hours and minutes, times on the
local clock and channels by name. The HTML report and the notebooks both use it, so a
number reads the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

import numpy as np
import pandas as pd

from ._tz import resolve_tz
from .metrics import at_risk

__all__ = ["readable", "channel_names_of", "format_count", "format_share", "format_duration", "header",
           "zone_label", "PROVIDER_LABELS"]

#: How each provider is written for people.
PROVIDER_LABELS = {"wassist": "Wassist", "briq": "Briq"}

#: Headers that are better than the column name with its underscores replaced.
_HEADERS = {
    "conversation_id": "Conversation", "contact_phone": "Phone", "contact_name": "Contact",
    "channel_id": "Channel", "channel_name": "Channel", "is_active": "Active",
    "is_human_takeover": "Human takeover", "has_unread": "Unread", "unread_count": "Unread messages",
    "last_message_at": "Last message", "window_open": "Window open", "window_expires_at": "Window closes",
    "fetched_at": "Fetched", "window_remaining": "Time left", "unread_share": "Unread share",
    "closing_share": "Share closing", "snapshot_at": "Snapshot", "window_bucket": "Window",
}
#: ``window_bucket``'s values (``metrics.BUCKETS``) in words: as column names (``expiry_summary``)
#: and as values (a ``window_bucket`` column or index level).
BUCKET_LABELS = {"closed": "Closed", "<1h": "Under 1 h", "1-4h": "1–4 h", "4-12h": "4–12 h",
                 "12-24h": "12–24 h"}
_HEADERS.update(BUCKET_LABELS)


def header(name: Any) -> str:
    """A column name as a header: ``unread_conversations`` -> ``Unread conversations``.

    Parameters
    ----------
    name : object
        A column or index name.

    Returns
    -------
    str
    """
    if name in _HEADERS:
        return _HEADERS[name]
    percentile = re.fullmatch(r"p(\d+)", str(name))
    if percentile:  # the wait percentiles, in hours
        return "Median (h)" if percentile[1] == "50" else f"{percentile[1]}th percentile (h)"
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_count(value: Any) -> str:
    """``1411`` -> ``"1,411"``; missing -> ``""``."""
    return "" if pd.isna(value) else f"{int(value):,}"


def format_share(value: Any, digits: int = 1) -> str:
    """``0.401667`` -> ``"40.2%"``; missing -> ``""``."""
    return "" if pd.isna(value) else f"{float(value):.{digits}%}"


def format_duration(value: Any) -> str:
    """A timedelta in hours and minutes: ``"10 min"``, ``"2 h 05 min"``, ``"31 h 00 min"``; missing -> ``""``.

    Rounded to the nearest minute; hours keep counting past a day, because the 24-hour
    reply window is what people compare against. A span under half a minute that is not
    zero reads ``"<1 min"``: a window with seconds left is still open.
    """
    if pd.isna(value):
        return ""
    span = pd.Timedelta(value)
    minutes = int(round(span / pd.Timedelta(minutes=1)))
    if minutes == 0 and span > pd.Timedelta(0):
        return "<1 min"  # 30 s included, which rounds to none
    sign, minutes = ("−", -minutes) if minutes < 0 else ("", minutes)
    hours, rest = divmod(minutes, 60)
    return f"{sign}{rest} min" if hours == 0 else f"{sign}{hours:,} h {rest:02d} min"


def counted(count: int, one: str, many: str) -> str:
    """``count`` with the words that agree with it: ``counted(1, "window closes", "windows
    close")`` -> ``"1 window closes"``, ``counted(3, ...)`` -> ``"3 windows close"``."""
    return f"{count:,} {one if count == 1 else many}"


def at_risk_words(count: int, within: str) -> str:
    """The at-risk sentence every summary prints: ``"2 unread conversations lose their window
    within 2 h"`` (``within`` as given, e.g. ``"2h"``)."""
    return (f"{counted(count, 'unread conversation loses its', 'unread conversations lose their')} "
            f"window within {horizon_words(within)}")


def next_window_words(df: pd.DataFrame, as_of: Any = None) -> str:
    """What to say when nothing is at risk within the horizon: when the next unread
    conversation's window closes after ``as_of``, so that a quiet list reads as quiet, not as
    broken (the report, the watch, the at-risk chart).
    ``"The next unread conversation's window closes in 4 h 12 min; 9 close within 24 h"``.
    """
    remaining = at_risk(df, within="24h", as_of=as_of)["window_remaining"]
    if remaining.empty:
        return "No unread conversation's window closes within 24 h"
    return (f"The next unread conversation's window closes in {format_duration(remaining.iloc[0])}; "
            f"{counted(len(remaining), 'closes', 'close')} within 24 h")


def duration_words(text: str) -> str:
    """``"2h"`` -> ``"2 h"``, ``"90min"`` -> ``"90 min"``: a duration as given, spaced for reading."""
    return re.sub(r"^(\d+(?:\.\d+)?)\s*(h|min|d)$", r"\1 \2", text.strip())


def horizon_words(within: Any) -> str:
    """An at-risk horizon as every output writes it: ``"2h"`` as ``"2 h"`` (:func:`duration_words`),
    a Timedelta in hours and minutes (:func:`format_duration`)."""
    return duration_words(within) if isinstance(within, str) else format_duration(within)


def zone_label(tz: str, at: Any = None) -> str:
    """The short name people know a zone by at a moment (``EAT``, ``CET``), else its UTC offset."""
    if tz == "UTC":
        return "UTC"
    moment = pd.Timestamp.now(tz="UTC") if at is None or pd.isna(at) else pd.Timestamp(at)
    local = (moment.tz_localize("UTC") if moment.tzinfo is None else moment).tz_convert(tz)
    short = local.strftime("%Z")
    if short and short[0] not in "+-":
        return short
    offset = local.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset[3:] != "00" else f"UTC{offset[:3]}"


def readable(frame: pd.DataFrame | pd.Series, *, tz: str | tzinfo | None = None,
             channel_names: pd.DataFrame | pd.Series | Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` for people to read; every cell is text.

    Parameters
    ----------
    frame : pandas.DataFrame or Series
        Any frame or series the toolkit returns (a unified frame, a summary, ``at_risk``,
        a trend, ``unread_wait``, ``window_bucket``, ``check_conversations``); a series
        becomes one column.
    tz : str, optional
        IANA zone to show times in; default ``WA_TOOLKIT_TZ``, else UTC. The zone's short
        name is added to the header of every time column (``Last message (EAT)``).
    channel_names : DataFrame, mapping or Series, optional
        Where to find channel names for a ``channel_id`` index or column when ``frame``
        has no ``channel_name`` of its own (a summary by channel): the unified frame it was
        computed from, or a mapping (or Series) ``{channel_id: name}``.

    Returns
    -------
    pandas.DataFrame
        Same rows, headers in words, and cells as text: whole numbers with thousands
        separators, columns named ``*share*`` as percentages, durations as ``2 h 05 min``,
        times on the local clock, booleans as yes/no, missing as empty. Channels show by
        name, else by a short id; providers by their names.

    Examples
    --------
    >>> import toolkit as tk
    >>> tk.readable(tk.unread_summary(df))  # doctest: +SKIP
    >>> tk.readable(tk.unread_summary(df, by="channel_id"), channel_names=df)  # doctest: +SKIP
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(name="value" if frame.name is None else frame.name)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"readable takes a DataFrame or a Series, got {type(frame).__name__}")
    if not frame.columns.is_unique:
        twice = sorted({str(name) for name in frame.columns[frame.columns.duplicated()]})
        raise ValueError(f"readable needs one column of each name; {twice} appear more than once")
    if isinstance(channel_names, pd.Series):
        channel_names = channel_names.to_dict()  # {channel_id: name}, as a mapping is
    if channel_names is not None and not isinstance(channel_names, (pd.DataFrame, Mapping)):
        raise TypeError("channel_names must be the unified frame or a mapping {channel_id: name}, got "
                        f"{type(channel_names).__name__}")
    zone = resolve_tz(tz)
    known = (channel_names_of(channel_names) if isinstance(channel_names, pd.DataFrame)
             else dict(channel_names or {}))
    columns: dict[str, pd.Series] = {}
    grouped = _group_headers(frame.columns, known)
    for name in frame.columns:
        if grouped is not None:  # a wide table: one column per group (a provider, a channel)
            columns[grouped[name]] = _cells(name, frame[name], zone)[1]
            continue
        if name == "channel_name" and "channel_id" in frame.columns:
            continue  # shown in the channel column
        values = frame[name]
        if name == "channel_id":
            if "channel_name" in frame.columns:
                own = channel_names_of(frame)
                columns[header(name)] = _text(values.astype(object).map(own.get))
            else:
                columns[header(name)] = _text(values.astype(object).map(lambda v: _channel(v, known)))
        elif name in _NAMED_VALUES:
            columns[header(name)] = _text(_in_words(values.astype(object), name))
        else:
            title, cells = _cells(name, values, zone)
            columns[title] = cells
    result = pd.DataFrame(columns, index=frame.index)
    result.index = _readable_index(frame.index, zone, known, period=trend_period(frame))
    return result


def _group_headers(columns: pd.Index, known: Mapping[str, str]) -> dict[Any, str] | None:
    """Headers of a wide table's columns when they are groups (``unstack()`` of a summary by
    provider or channel): providers, bands and channels by name, levels joined by " · ";
    ``None`` for ordinary columns."""
    levels = list(columns.names)
    if not any(level in (*_NAMED_VALUES, "channel_id") for level in levels):
        return None

    def word(value: Any, level: Any) -> str:
        if level in _NAMED_VALUES:
            return str(_NAMED_VALUES[level].get(value, value))
        if level == "channel_id":
            return str(_channel(value, known))
        return str(value)

    return {column: " · ".join(word(part, level) for part, level in
                               zip(column if isinstance(column, tuple) else (column,), levels, strict=True))
            for column in columns}


#: Columns (or index levels) whose values :func:`readable` writes in words.
_NAMED_VALUES: dict[str, Mapping[Any, str]] = {"provider": PROVIDER_LABELS, "window_bucket": BUCKET_LABELS}


def _in_words(values: Any, name: str) -> Any:
    """The values of column or level ``name`` in words (:data:`_NAMED_VALUES`); others as they are."""
    words = _NAMED_VALUES[name]
    return values.map(lambda value: words.get(value, value))


def channel_names_of(df: pd.DataFrame) -> dict[str, str]:
    """What to call each ``channel_id`` of ``df``: its name, else a short id.

    The name comes from ``channel_name`` where any row of the channel has one; else the
    first eight characters of the id and an ellipsis. Two channels with the same name are
    told apart by their short ids.

    Returns
    -------
    dict
        ``channel_id`` to label.
    """
    if "channel_id" not in df.columns or df.empty:
        return {}
    ids = df["channel_id"].astype(object)
    named = (df["channel_name"].astype(object) if "channel_name" in df.columns
             else pd.Series(pd.NA, index=df.index, dtype=object))
    labels = pd.Series(named.to_numpy(), index=ids)
    labels = labels[labels.index.notna()]
    # A channel's name where any row knows it, else its short id.
    first = labels.groupby(level=0, sort=False).first()
    first = pd.Series([_channel(key, {}) if pd.isna(name) else name for key, name in first.items()],
                      index=first.index, dtype=object)
    shared = first.duplicated(keep=False)
    first[shared] = [f"{name} ({str(key)[:8]})" for key, name in first[shared].items()]
    return first.to_dict()


def _channel(value: Any, known: Mapping[str, str]) -> Any:
    if pd.isna(value):
        return value
    if value in known:
        return known[value]
    text = str(value)
    return text if len(text) <= 8 else text[:8] + "…"


def holds_days(times: pd.DatetimeIndex, period: pd.Timedelta | None = None) -> bool:
    """Whether ``times`` are days: each a midnight of its own zone (a daily trend's UTC days,
    ``closed_unread_by_day``'s days of its ``tz=``), unless they label a trend's periods shorter
    than a day (``period``, "12h": its periods start at midnight too). Shown and written as
    dates, since on another zone's clock a day reads as the evening before."""
    if not len(times) or (period is not None and period < pd.Timedelta(days=1)):
        return False
    return bool((times == times.normalize()).all())


def trend_period(frame: pd.DataFrame) -> pd.Timedelta | None:
    """The period a trend's rows stand for (``attrs["freq"]``, set by the trend functions), if
    it is a fixed span; ``None`` otherwise."""
    freq = frame.attrs.get("freq")
    if not isinstance(freq, str):
        return None
    try:
        return pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError):
        return None  # a calendar period ("MS"): no fixed span


def _readable_index(index: pd.Index, zone: str, known: Mapping[str, str],
                    period: pd.Timedelta | None = None) -> pd.Index:
    """Index levels written like columns: providers and channels by name, times on the local
    clock; ``period`` is the span a trend's rows stand for, when known (see :func:`trend_period`)."""
    def level(values: pd.Index, name: Any) -> tuple[pd.Index, Any]:
        if name in _NAMED_VALUES:
            return _in_words(values, name), header(name)
        if name == "channel_id":
            return values.map(lambda v: _channel(v, known)), header(name)
        if isinstance(values, pd.DatetimeIndex):
            stamps = values if values.tz is not None else values.tz_localize("UTC")
            local = stamps.tz_convert(zone)
            title = header(name) if name is not None else "Time"
            moment = stamps.max() if len(stamps) else None
            if holds_days(stamps, period):
                # Days of the zone the values are in (a trend's UTC days, closed_unread_by_day's
                # days of its tz=): the day labels the row, not a moment at its midnight, whatever
                # zone the other times are shown in.
                if name == "snapshot_at":
                    # Periods longer than a day (freq="7D") start on the day shown; without the
                    # trend's own period, told by the spacing of its rows.
                    days = stamps.unique().sort_values()
                    longer = (period > pd.Timedelta(days=1) if period is not None else
                              len(days) > 1 and (days[1:] - days[:-1]).min() > pd.Timedelta(days=1))
                    title = "Period from" if longer else "Day"
                own_zone = zone_label(str(stamps.tz), moment)
                return pd.Index(stamps.strftime("%Y-%m-%d")), f"{title} ({own_zone})"
            if period is not None and period < pd.Timedelta(days=1) and name == "snapshot_at":
                title = "Period from"  # a trend's rows stand for periods ("12h"), labelled by their start
            return pd.Index(local.strftime(_moment_format(local))), f"{title} ({zone_label(zone, moment)})"
        return values, None if name is None else header(name)

    if isinstance(index, pd.MultiIndex):
        pairs = [level(index.get_level_values(number), name) for number, name in enumerate(index.names)]
        return pd.MultiIndex.from_arrays([values for values, _ in pairs], names=[title for _, title in pairs])
    values, title = level(index, index.name)
    return pd.Index(values, name=title)


def _names_days(name: Any) -> bool:
    """Whether a column's name says it holds days (``date``, ``day``, ``closing_date``): only
    there are midnights without a zone dates; elsewhere they are UTC moments."""
    return isinstance(name, str) and re.search(r"(^|_)(date|day)$", name.lower()) is not None


def _moment_format(moments: pd.DatetimeIndex) -> str:
    """How rows labelled by moments show them: to the minute, or to the second where two of
    them fall in one minute (two snapshots a minute apart would read as one otherwise)."""
    distinct = moments.dropna().unique()
    # Counted as labels: flooring local times fails in the hour a clock change repeats.
    minutes = pd.Index(distinct.strftime("%Y-%m-%d %H:%M")).nunique()
    return "%Y-%m-%d %H:%M" if minutes == len(distinct) else "%Y-%m-%d %H:%M:%S"


def numeric_headers(frame: pd.DataFrame) -> set[str]:
    """Headers (as :func:`readable` writes them) of the columns that hold numbers or durations."""
    return {header(name) for name in frame.columns
            if name != "provider" and (pd.api.types.is_numeric_dtype(frame[name])
                                       and not pd.api.types.is_bool_dtype(frame[name])
                                       or pd.api.types.is_timedelta64_dtype(frame[name]))}


def _cells(name: Any, values: pd.Series, zone: str) -> tuple[str, pd.Series]:
    title = header(name)
    dtype = values.dtype
    if (pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype)
            and _names_days(name)):
        known = values.dropna()
        if len(known) and (known == known.dt.normalize()).all():
            # Dates without a zone (SQL's DATE, a day column read back): days, not UTC midnights
            # to be moved to another clock.
            return title, _text(values.dt.strftime("%Y-%m-%d"))
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        stamps = values if isinstance(dtype, pd.DatetimeTZDtype) else values.dt.tz_localize("UTC")
        local = stamps.dt.tz_convert(zone)
        moment = stamps.dropna().max() if stamps.notna().any() else None
        return f"{title} ({zone_label(zone, moment)})", _text(local.dt.strftime("%Y-%m-%d %H:%M"))
    if pd.api.types.is_timedelta64_dtype(dtype):
        return title, _text(values.map(format_duration))
    if pd.api.types.is_bool_dtype(dtype):
        return title, _text(values.astype(object).map(lambda v: "" if pd.isna(v) else ("yes" if v else "no")))
    if pd.api.types.is_integer_dtype(dtype):
        return title, _text(values.map(format_count))
    if pd.api.types.is_float_dtype(dtype):
        if "share" in str(name):
            return title, _text(values.map(format_share))
        whole = values.dropna()
        if len(whole) and bool(np.all(np.mod(whole.to_numpy(dtype=float), 1) == 0)):
            return title, _text(values.map(format_count))
        return title, _text(values.map(lambda v: "" if pd.isna(v) else f"{v:,.1f}"))
    return title, _text(values.astype(object).map(_cell_text))


def _cell_text(value: Any) -> str:
    """Any other cell as text: a list (``check_conversations``' examples) as its items."""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return ", ".join(_cell_text(item) for item in value)
    return "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "")


