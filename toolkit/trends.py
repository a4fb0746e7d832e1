"""Trend metrics over snapshots: how the backlog moves from one pull to the next.

Pure functions of a history frame: the unified schema plus ``snapshot_at``, as
:func:`toolkit.load_snapshots` returns it. Each snapshot is treated as the state of the
inbox at its ``snapshot_at``; metrics that compare snapshots compare consecutive snapshots
of the same provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._frames import WORKING_PERIOD, group_columns, known_true, require_columns, units_spelled
from ._schema import PROVIDER, SCHEMA, TIMESTAMP, cast_column, missing_column
from ._tz import local_wall_clock, resolve_tz
from .history import SNAPSHOT_COLUMN
from .metrics import _wait_table, _waited, unread_summary, wait_percentiles

__all__ = ["unread_trend", "closed_unread_by_day", "wait_trend", "persistent_unread"]

_KEY = ["provider", "conversation_id"]


#: The column that labels each kept row with the row of the result it lands in.
_PERIOD = WORKING_PERIOD


#: The columns every trend needs of a history (:func:`toolkit.load_snapshots`).
HISTORY_COLUMNS = [SNAPSHOT_COLUMN, "provider", "conversation_id", "has_unread"]


def _check_each_conversation_once(history: pd.DataFrame) -> None:
    """ValueError when a snapshot holds a conversation twice: two files of one provider saved at
    one moment (a history written twice into one folder, say) would count it twice."""
    keys = history[[SNAPSHOT_COLUMN, "provider", "conversation_id"]].dropna()
    twice = keys.duplicated()
    if not twice.any():
        return
    moment, provider, _ = keys[twice].iloc[0]
    raise ValueError(f"the history holds {provider}'s snapshot of {moment:%Y-%m-%d %H:%M:%S} UTC more than "
                     f"once ({int(twice.sum()):,} conversations appear twice in a snapshot): two files were "
                     "saved for that moment, such as a history written twice into one folder; keep one of "
                     "the files (snapshot-*.parquet under provider=NAME/date=DAY) or write the history anew")


def _snapshot_moments_in_utc(history: pd.DataFrame) -> pd.DataFrame:
    """``history`` with ``snapshot_at`` as UTC moments (moments without a zone are UTC, as
    everywhere in the toolkit); ``ValueError`` for a column that holds no moments or misses some."""
    moments = history[SNAPSHOT_COLUMN]
    if not pd.api.types.is_datetime64_any_dtype(moments):
        # ISO 8601 text (a history read back from CSV) reads as conform reads times.
        read = cast_column(moments, TIMESTAMP, SNAPSHOT_COLUMN)
        unreadable = moments[read.isna() & moments.notna()]
        if len(unreadable):
            raise ValueError(f"{SNAPSHOT_COLUMN} holds {unreadable.iloc[0]!r}, which is not a moment: load a "
                             "history with tk.load_snapshots")
        moments = read
        history = history.assign(**{SNAPSHOT_COLUMN: moments})
    missing = int(moments.isna().sum())
    if missing:
        raise ValueError(f"{SNAPSHOT_COLUMN} is missing on {missing:,} row(s): every row of a history "
                         "needs the moment its snapshot was taken (tk.load_snapshots gives it)")
    if moments.dt.tz is None:
        return history.assign(**{SNAPSHOT_COLUMN: moments.dt.tz_localize("UTC")})
    if str(moments.dt.tz) != "UTC":
        return history.assign(**{SNAPSHOT_COLUMN: moments.dt.tz_convert("UTC")})
    return history


def _history(history: pd.DataFrame, freq: Any = None, tz: str | None = None) -> pd.DataFrame:
    """The snapshots a trend measures, each row labelled (``_period``) with its result row.

    Without ``freq`` every snapshot is its own result row, labelled with its ``snapshot_at``.
    With ``freq`` only each provider's latest snapshot of each period is kept, labelled with
    the period's start: on UTC's clock, or on ``tz``'s when given (its days, say). Either way
    every row keeps its own ``snapshot_at``: a trend measures each snapshot as of the moment
    it was taken, and the period only labels it (a snapshot taken at 17:00 measured as of
    midnight would show waits hours too short).
    """
    require_columns(history, HISTORY_COLUMNS)
    history = _snapshot_moments_in_utc(history)
    _check_each_conversation_once(history)
    if freq is None or history.empty:
        return history.assign(**{_PERIOD: history[SNAPSHOT_COLUMN]})
    if isinstance(freq, str):
        freq = units_spelled(freq)
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"freq: cannot use {freq!r} as a period such as 'D' or '6h'") from exc
    if offset.n <= 0:  # floor by it would label every snapshot with a later or the same moment
        raise ValueError(f"freq must be a positive period such as 'D' or '6h', got {freq!r}")
    try:
        if tz is None:
            period = history[SNAPSHOT_COLUMN].dt.floor(freq)
        else:
            zone = resolve_tz(tz)
            period = _placed(local_wall_clock(history[SNAPSHOT_COLUMN], zone).dt.floor(freq), zone)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"freq: cannot use {freq!r} as a period such as 'D' or '6h'") from exc
    latest = history.groupby([period, history["provider"]], observed=True)[SNAPSHOT_COLUMN].transform("max")
    kept = history[history[SNAPSHOT_COLUMN] == latest]
    return kept.assign(**{_PERIOD: period[kept.index]})


def unread_trend(history: pd.DataFrame, by: str | Sequence[str] | None = "provider",
                 freq: Any = None, tz: str | None = None) -> pd.DataFrame:
    """The unread backlog at every snapshot, per group.

    Parameters
    ----------
    history : pandas.DataFrame
        Snapshots, as :func:`toolkit.load_snapshots` returns them.
    by : str, list of str or None, default "provider"
        Column(s) to group by within each snapshot; ``None`` for all rows together.
    freq : str, optional
        A period such as ``"D"``: keep each provider's latest snapshot of each period and
        label it with the period's start, so providers pulled at different times line up.
        Each kept snapshot is still measured as of its own ``snapshot_at``, and
        ``carried_over`` compares it with the provider's previous kept snapshot.
    tz : str, optional
        With ``freq``, the IANA zone whose clock cuts the periods (``"D"``: its days, as
        :func:`closed_unread_by_day` counts them); default UTC.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``snapshot_at`` (and the ``by`` columns), with the columns of
        :func:`toolkit.unread_summary` plus ``carried_over``: conversations unread in this
        snapshot that were already unread in the provider's previous snapshot.
        ``result["unread_conversations"].unstack()`` gives one column per group for a chart.

    Examples
    --------
    >>> trend = tk.unread_trend(tk.load_snapshots("history"), by="channel_id", freq="D")  # doctest: +SKIP
    """
    frame = _history(history, freq, tz)
    columns = group_columns(frame, by) or []
    frame = frame.assign(carried_over=_carried_over(frame))
    pieces = {}
    for moment, rows in frame.groupby(_PERIOD, sort=True):
        summary = unread_summary(rows, by=by)
        carried = rows.groupby(columns, observed=True)["carried_over"].sum() if columns else \
            pd.Series({"all": int(rows["carried_over"].sum())})
        summary["carried_over"] = carried.reindex(summary.index, fill_value=0).astype("int64")
        pieces[moment] = summary
    if not pieces:
        template = unread_summary(frame.iloc[:0], by=by).assign(carried_over=pd.Series(dtype="int64"))
        return _with_period(_empty_trend(template), freq)
    return _with_period(pd.concat(pieces, names=[SNAPSHOT_COLUMN]), freq)


def _with_period(trend: pd.DataFrame, freq: Any) -> pd.DataFrame:
    """``trend`` with the period its rows stand for in ``attrs["freq"]`` (``None``: each row is
    one snapshot), so that :func:`toolkit.readable` labels a day a day even when days are missing."""
    if freq is None:
        trend.attrs["freq"] = None
        return trend
    try:
        # As an offset's name ("D", "12h"), whatever form it was given in (a Timedelta, an offset).
        spelled = units_spelled(freq) if isinstance(freq, str) else freq
        trend.attrs["freq"] = pd.tseries.frequencies.to_offset(spelled).freqstr
    except (ValueError, TypeError):
        trend.attrs["freq"] = str(freq)
    return trend


def _empty_trend(template: pd.DataFrame) -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays(
        [pd.DatetimeIndex([], tz="UTC")] + [template.index.get_level_values(level)[:0]
                                            for level in range(template.index.nlevels)],
        names=[SNAPSHOT_COLUMN, *template.index.names])
    return pd.DataFrame({column: template[column].iloc[:0].to_numpy() for column in template.columns},
                        index=index)


def _carried_over(frame: pd.DataFrame) -> pd.Series:
    """For each row: unread now and unread in the provider's previous snapshot."""
    unread = known_true(frame, "has_unread")
    previous = _previous_snapshot(frame)
    was_unread = frame.assign(_previous=previous)[["provider", "conversation_id", "_previous"]].merge(
        frame.loc[unread, ["provider", "conversation_id", SNAPSHOT_COLUMN]].rename(
            columns={SNAPSHOT_COLUMN: "_previous"}).assign(_hit=True),
        on=["provider", "conversation_id", "_previous"], how="left")["_hit"].fillna(False).to_numpy(bool)
    return pd.Series(unread.to_numpy() & was_unread, index=frame.index)


def _snapshot_sequence(frame: pd.DataFrame) -> pd.DataFrame:
    """Each provider's snapshots in time order: ``provider``, ``snapshot_at``, ``_position``
    (0 for the provider's first) and ``_previous`` (the snapshot before; ``NaT`` for the first)."""
    times = frame[["provider", SNAPSHOT_COLUMN]].drop_duplicates().sort_values(["provider", SNAPSHOT_COLUMN])
    by_provider = times.groupby("provider", observed=True)
    return times.assign(_position=by_provider.cumcount(), _previous=by_provider[SNAPSHOT_COLUMN].shift(1))


def _previous_snapshot(frame: pd.DataFrame) -> pd.Series:
    """The provider's snapshot before each row's snapshot (``NaT`` for the first)."""
    times = _snapshot_sequence(frame)[["provider", SNAPSHOT_COLUMN, "_previous"]]
    return frame[["provider", SNAPSHOT_COLUMN]].merge(times, on=["provider", SNAPSHOT_COLUMN], how="left")[
        "_previous"].set_axis(frame.index)


def closed_unread_by_day(history: pd.DataFrame, by: str | Sequence[str] | None = "provider",
                         tz: str | None = None) -> pd.DataFrame:
    """Windows that closed with unread messages, per day of closing.

    A conversation counts when one snapshot shows its window open with unread messages
    and the provider's next snapshot shows the window closed with messages still unread:
    nobody answered in time and a reply now needs a paid template. It counts on the day
    its window closed (the expiry the earlier snapshot showed; the later snapshot's
    moment when the expiry was unknown).

    Parameters
    ----------
    history : pandas.DataFrame
        Snapshots, as :func:`toolkit.load_snapshots` returns them.
    by : str, list of str or None, default "provider"
        Columns to count per.
    tz : str, optional
        IANA zone whose days count (``"Africa/Dar_es_Salaam"``); default UTC.

    Returns
    -------
    pandas.DataFrame
        One row per day from the first to the last snapshot (midnight in ``tz``; days
        without closings are zero), one integer column per group (``"all"`` when ``by``
        is ``None``).
    """
    frame = _history(history)
    require_columns(frame, ["window_open", "window_expires_at"])
    columns = group_columns(frame, by)
    label = columns or ["_all"]
    work = frame.assign(_all="all", _previous=_previous_snapshot(frame))
    wanted = [*_KEY, SNAPSHOT_COLUMN, "window_open", "has_unread", "window_expires_at"]
    earlier = work[wanted + [column for column in label if column not in wanted]]
    later = work[[*_KEY, "_previous", SNAPSHOT_COLUMN, "window_open", "has_unread"]]
    pairs = earlier.merge(later, left_on=[*_KEY, SNAPSHOT_COLUMN], right_on=[*_KEY, "_previous"],
                          suffixes=("", "_next"))
    closed = (pairs["window_open"].fillna(False).astype(bool) & pairs["has_unread"].fillna(False).astype(bool)
              & ~pairs["window_open_next"].fillna(True).astype(bool)
              & pairs["has_unread_next"].fillna(False).astype(bool))
    pairs = pairs[closed.to_numpy()]
    moment = pairs["window_expires_at"].where(pairs["window_expires_at"].notna(),
                                              pairs[f"{SNAPSHOT_COLUMN}_next"])
    zone = "UTC" if tz is None else resolve_tz(tz)
    days = _all_days(frame, zone)
    # Every group of the history gets a column, zeros included.
    groups = work.groupby(label, observed=True).size().index if len(work) else pd.Index([], name=label[0])
    counts = pairs.assign(day=_wall_days(moment, zone)).groupby(["day", *label], observed=True).size()
    table = counts.unstack(label, fill_value=0) if len(counts) else pd.DataFrame(index=days[:0])
    table = table.reindex(index=days, columns=groups, fill_value=0).fillna(0).astype("int64")
    if columns is None:
        table = (table.set_axis(["all"], axis=1) if table.shape[1]
                 else table.reindex(columns=["all"], fill_value=0))
    # Days are counted on the wall clock and placed in the zone last: where a clock change
    # skips or repeats midnight (Cairo, Havana), a day starts at the first moment it has.
    table.index = _placed(table.index, zone).rename("day")
    return table


def _placed(wall_clock: Any, zone: str) -> Any:
    """Wall-clock times (without zone) placed in ``zone``: where a clock change skips or repeats
    the time (midnight in Cairo or Havana), a period starts at the first moment it has."""
    localize = wall_clock.dt.tz_localize if isinstance(wall_clock, pd.Series) else wall_clock.tz_localize
    return localize(zone, ambiguous=np.ones(len(wall_clock), dtype=bool), nonexistent="shift_forward")


def _wall_days(moments: pd.Series, zone: str) -> pd.Series:
    """The day each moment falls on in ``zone``, as a midnight without zone."""
    return local_wall_clock(moments, zone).dt.normalize()


def _all_days(frame: pd.DataFrame, zone: str = "UTC") -> pd.DatetimeIndex:
    """Every day from the first snapshot to the last in ``zone``, as midnights without zone."""
    if frame.empty:
        return pd.DatetimeIndex([], name="day")
    days = _wall_days(frame[SNAPSHOT_COLUMN], zone)
    return pd.date_range(days.min(), days.max(), freq="D", name="day")


def wait_trend(history: pd.DataFrame, by: str | Sequence[str] | None = "provider", freq: Any = None,
               percentiles: Sequence[float] = (0.5, 0.9), tz: str | None = None) -> pd.DataFrame:
    """Percentiles of how long unread conversations have waited, at every snapshot.

    Each snapshot is measured as of its own ``snapshot_at`` (see
    :func:`toolkit.wait_percentiles`), also with ``freq``: a period's row pools the waits
    of each provider's latest snapshot in it, each as of the moment that snapshot was
    taken; the period's start only labels the row. ``tz``: the zone whose clock cuts the
    periods, as for :func:`unread_trend`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``snapshot_at`` (and the ``by`` columns); columns ``count`` and one per
        percentile in hours (``p50``, ``p90``, ...), ``NaN`` for a group with no unread.
    """
    frame = _history(history, freq, tz)
    require_columns(frame, ["last_message_at"])
    waits = _waited(frame, frame[SNAPSHOT_COLUMN])  # each row as of its own snapshot
    pieces = {moment: _wait_table(rows, waits[rows.index], by, percentiles)
              for moment, rows in frame.groupby(_PERIOD, sort=True)}
    if not pieces:
        empty = _empty_trend(wait_percentiles(frame.iloc[:0], by=by, percentiles=percentiles))
        return _with_period(empty, freq)
    return _with_period(pd.concat(pieces, names=[SNAPSHOT_COLUMN]), freq)


def persistent_unread(history: pd.DataFrame, min_snapshots: int = 2) -> pd.DataFrame:
    """Conversations that stayed unread across consecutive snapshots.

    For each conversation, the longest run of consecutive snapshots of its provider in
    which it was unread (a snapshot it is absent from breaks the run).

    Parameters
    ----------
    history : pandas.DataFrame
    min_snapshots : int, default 2
        Shortest run to report.

    Returns
    -------
    pandas.DataFrame
        One row per conversation with a run of at least ``min_snapshots``: ``provider``,
        ``conversation_id``, ``channel_id``, ``contact_name``, ``contact_phone`` (the two
        tell apart contacts of one name), ``snapshots`` (run length),
        ``first_unread_at`` and ``last_unread_at`` (the run's first and last
        ``snapshot_at``), ``still_unread`` (the run reaches the provider's latest
        snapshot) and ``unread_count`` at the run's end; longest runs first. Of these, the
        columns ``history`` lacks (only ``snapshot_at``, ``provider``, ``conversation_id``
        and ``has_unread`` are needed) are missing values.
    """
    if (not isinstance(min_snapshots, (int, np.integer)) or isinstance(min_snapshots, bool)
            or min_snapshots < 1):
        raise ValueError(f"min_snapshots must be a whole number of at least 1, got {min_snapshots!r}")
    frame = _history(history)
    # The columns that describe a run, not find it: a history without them (made by hand, or
    # a selection of columns) gets them back empty rather than a KeyError from pandas.
    described = ["channel_id", "contact_name", "contact_phone", "unread_count"]
    frame = frame.assign(**{name: pd.Series(missing_column(SCHEMA[name], len(frame)), index=frame.index)
                            for name in described if name not in frame.columns})
    columns = ["provider", "conversation_id", "channel_id", "contact_name", "contact_phone", "snapshots",
               "first_unread_at",
               "last_unread_at", "still_unread", "unread_count"]
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype=frame[name].dtype if name in frame else "object")
                             for name in columns})
    order = _snapshot_sequence(frame)[["provider", SNAPSHOT_COLUMN, "_position"]]
    latest = order.groupby("provider", observed=True)["_position"].max()
    rows = frame[known_true(frame, "has_unread") & frame["conversation_id"].notna()]
    rows = rows.merge(order, on=["provider", SNAPSHOT_COLUMN]).sort_values([*_KEY, "_position"])
    # A run breaks where the position does not follow the previous one of the same conversation.
    provider = rows["provider"].astype("object").to_numpy()
    identity = rows["conversation_id"].astype("object").to_numpy()
    position = rows["_position"].to_numpy()
    follows = np.zeros(len(rows), dtype=bool)
    follows[1:] = ((provider[1:] == provider[:-1]) & (identity[1:] == identity[:-1])
                   & (position[1:] == position[:-1] + 1))
    rows = rows.assign(_run=np.cumsum(~follows))
    runs = rows.groupby("_run").agg(
        provider=("provider", "first"), conversation_id=("conversation_id", "first"),
        channel_id=("channel_id", "last"), contact_name=("contact_name", "last"),
        contact_phone=("contact_phone", "last"),
        snapshots=("_position", "size"), first_unread_at=(SNAPSHOT_COLUMN, "min"),
        last_unread_at=(SNAPSHOT_COLUMN, "max"), last_position=("_position", "max"),
        unread_count=("unread_count", "last"))
    runs = runs[runs["snapshots"] >= min_snapshots]
    runs["still_unread"] = runs["last_position"].to_numpy() == runs["provider"].map(latest).to_numpy()
    runs = runs.sort_values(["snapshots", "last_unread_at"], ascending=[False, False], kind="stable")
    runs = runs.drop_duplicates(_KEY, keep="first")
    runs["provider"] = runs["provider"].astype(PROVIDER)
    return runs[columns].reset_index(drop=True)
