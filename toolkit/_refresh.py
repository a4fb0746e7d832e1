"""Bring a pulled frame up to date with requests in proportion to what changed.

A full pull reads every page of every list: a 100,000-conversation Wassist inbox costs over
a thousand requests, more than ten minutes of its 100-requests-a-minute budget.
:func:`refresh` reads only what can have changed since the previous pull began:

1. **Activity.** Everything active since the previous pull began, by the server's clock
   (the earliest ``Date`` header it sent then) less :data:`SERVER_CLOCK_LAG`, or by ours
   less :data:`SAFETY_LAG` when it sent none (:func:`activity_since`): Wassist's list with
   ``lastMessageAfter`` and ``hasUnread=false`` (the unread list holds the others), Briq's
   most-recent-first list from the top until rows older than that moment
   (``Provider.refresh_activity``).
2. **Unread.** Each provider's whole unread list (Wassist ``hasUnread=true``, Briq
   ``status=unread``), so a thread whose messages were read without a new message is
   seen too: a thread in neither list has nothing unread.
3. **Merge.** Fetched rows replace the previous ones; the rest are carried, with their
   window state recomputed as of the refresh (a window whose expiry has passed is closed).
4. **Check.** The merged count must equal the total the server reports for the filtered
   list. When it does not (a thread left the list, a server misbehaves), the provider is
   pulled in full instead.

What a refresh cannot see, and how it bounds it
-----------------------------------------------
Some fields can change with no new message and no read. A refresh carries them as they
were until the next full pull, which it forces once the last one is older than
``full_every`` (default 24 hours):

- Wassist: ``is_human_takeover`` (a hand-over to a human), ``channel_id`` /
  ``channel_name`` (a thread reassigned to another agent), ``contact_name``. ``is_active``
  is *not* among them: Wassist defines it by time (an inbound message in the last 24
  hours), so it is recomputed with the window.
- Briq: ``is_active`` (its meaning is not documented), ``channel_id`` (``sender_id``),
  ``contact_name``, and ``window_expires_at`` of a window that closed since (Briq may
  send the past time or nothing; the refresh keeps the time it had).
- Both: a window closed early by the provider with no new message; a thread that leaves
  the list while another joins it between two refreshes (the counts then agree).

Filters whose lists change by time alone fall back to a full pull when they do: Wassist
``status="closed"`` (threads join it as windows close) and ``has_unread=False`` (threads
join it as they are read).

What differs by provider lives on each :class:`~toolkit.providers._provider.Provider`:
its activity read (``refresh_activity``), its unread list (``unread_params``), whether
``is_active`` is the window (``active_is_window``), and which filters a new message can
move a row out of (``moved_by_activity``, applied by ``still_listed``).

Channel names the previous frame holds (from the provider, or given with
:func:`toolkit.name_channels`) stay on every row of their channel where the provider sends
none, so a Briq frame named once stays named across refreshes.

The activity and unread reads run at the same time in one pool of ``max_workers`` request
slots (:class:`~toolkit._paging.SlotPool`): the activity read takes what it can use first,
up to :data:`ACTIVITY_SHARE` of them, and the unread list the rest. Each ends with its own
sweep, as in a full pull, except an unread list that lies within the list the activity read
reads from the top (Briq's, ``Provider.unread_within``): a row moves in it only with new
activity, which the activity read's sweep catches. Such an unread list begins with the
unread conversations active since ``since``, which the activity read holds, so it is read
bottom-up and stops where they begin (:class:`_UnreadBelowActivity`). The activity read
guesses pages ahead only when the previous frame says it fills a wave; beside a long unread
list it grows from a few pages. Once both first passes are in,
their rows are merged into the previous ones while the sweeps are on the wire: the sweeps
usually find nothing new, and then only confirm that merge (:meth:`_Merge.confirmed`);
when they do find something, everything read is merged again. The two sweeps go out
together (the activity read waits for the unread list's first pass), and the server's count
(when the activity read's sweep does not tell it) is asked beside them. When the merged
count and the server's differ, the count is asked once more before a full pull: a thread
new between the count and the sweeps is the usual reason under live traffic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._clock import utc_now
from ._frames import (
    RecencyKeys,
    contains,
    id_text,
    interleaved_order,
    missing_count,
    most_recent_first,
    positions_among,
    positive_duration,
    recency_order,
)
from ._paging import Page, SlotPool
from ._schema import BOOLEAN, COLUMNS, INT, NAIVE_TIMESTAMP, SNAPSHOT_COLUMN, conform, empty_frame, utc_column
from .providers import PROVIDERS, each_provider, named_options
from .providers._load import ListReader, RowsOf, keep_latest, load, warn_unreadable
from .providers._provider import LOADER_SETTINGS, ListQuery, Params, Provider, PullOptions

__all__ = ["refresh", "refresh_snapshot", "activity_since", "SERVER_CLOCK_LAG", "SAFETY_LAG",
           "DEFAULT_FULL_EVERY", "LOADER_SETTINGS"]

#: How far before the previous pull's first answer, on the server's clock (its ``Date``
#: header), the activity read reaches: the second the header rounds away, the time an answer
#: takes to leave the server after its rows were read (the client waits at most ``timeout``,
#: 30 s by default), and clocks that differ among the provider's own machines.
SERVER_CLOCK_LAG = pd.Timedelta(minutes=1)
#: How far before the previous pull's start on our clock the activity read reaches when the
#: server sent no readable ``Date``: room for a server clock behind ours (the server stamps
#: the messages, we stamp the pull).
SAFETY_LAG = pd.Timedelta(minutes=5)
#: Share of the request slots the activity read may take while the unread list is read
#: beside it (the unread list may take them all when the activity read leaves them free).
ACTIVITY_SHARE = 0.25
#: A refresh pulls in full once the last full pull is older than this.
DEFAULT_FULL_EVERY = pd.Timedelta(hours=24)

_NOT_FROM_A_PULL = (
    "tk.refresh needs a frame that comes from a pull: what tk.load_wassist, tk.load_briq, "
    "tk.load_conversations or tk.refresh returned, or tk.load_snapshots(root) (its latest snapshot "
    "per provider is refreshed). {detail} A frame read from CSV or built by hand carries no record of "
    "its pull: pull afresh with tk.load_conversations(...) instead.")


@dataclass
class _Result:
    """One provider's refreshed rows and what it took."""

    frame: pd.DataFrame
    record: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)


def refresh(
    previous: pd.DataFrame,
    providers: Sequence[str] | Mapping[str, Mapping[str, Any]] | None = None,
    *,
    progress: bool | None = None,
    full_every: Any = DEFAULT_FULL_EVERY,
) -> pd.DataFrame:
    """Bring a frame from an earlier pull up to date, with few requests.

    The result is what a full pull with the previous pull's filters would return now,
    conversation for conversation, for every field that changes when a conversation has
    new activity, when its unread messages are read, and when it joins or leaves the
    list. See the module notes for the fields that can change silently.

    Parameters
    ----------
    previous : pandas.DataFrame
        A loader's frame, an earlier refresh, or ``tk.load_snapshots(root)`` (each
        provider's latest snapshot in it is refreshed).
    providers : list of str or dict, optional
        As in :func:`toolkit.load_conversations`: names, or ``{name: loader keyword
        arguments}`` for keys, base URLs and HTTP settings (``api_key``, ``base_url``,
        ``page_size``, ``max_workers``, ``timeout``, ``session``, ``retry``,
        ``rate_limit``, ``deadline``). Filters come from ``previous`` and may not be given here.
        ``None`` means every provider ``previous`` pulled. The result holds the providers
        named only, as a pull of them would.
    progress : bool, optional
        Progress bars, as for the loaders.
    full_every : str or Timedelta, default 24 hours
        Pull a provider in full instead once its last full pull is at least this old.

    Returns
    -------
    pandas.DataFrame
        The toolkit's columns, most recently active first within each provider.
        ``df.attrs["pulls"]`` records the refresh (so it can be refreshed again, or saved
        with :func:`toolkit.save_snapshot`); ``df.attrs["refresh"]`` says per provider
        ``rows_fetched``, ``rows_carried``, ``requests``, ``full_pull`` and ``reason``
        (why it pulled in full, or ``None``), ``since`` and ``since_clock`` (where the
        activity read began, and whether the server's clock or ours placed it; ``None``
        after a full pull). A carried row's ``fetched_at`` is the
        moment the refresh vouched for it: the end of the refresh's reading.

    Raises
    ------
    ValueError
        ``previous`` does not come from a pull (with what to pass instead), holds more or
        fewer of a provider's rows than its pull returned (filtered after the pull: refresh
        the frame the pull returned, then filter), a provider it did not pull, a filter in
        ``providers``, or a bad ``full_every``.
    AuthenticationError, ApiError, ResponseFormatError, PaginationError
        As the loaders raise them; a missing or refused key names the other providers'
        keys missing or refused too, as :func:`toolkit.load_conversations` does.

    Examples
    --------
    >>> import toolkit as tk
    >>> df = tk.load_conversations()            # doctest: +SKIP
    >>> df = tk.refresh(df)                     # doctest: +SKIP
    >>> df.attrs["refresh"]["wassist"]["requests"]  # doctest: +SKIP
    3
    """
    if not isinstance(previous, pd.DataFrame):
        raise TypeError(f"previous must be a pandas DataFrame, got {type(previous).__name__}")
    every = positive_duration(full_every, "full_every")
    records, rows = _previous_pulls(previous)
    chosen = _chosen(providers, records)
    # A history's rows of a snapshot can be more than its pull returned (two files saved at one
    # moment: the refresh then pulls that provider in full), but fewer only when the user
    # selected some.
    _check_whole(list(chosen), rows, records, more_allowed=SNAPSHOT_COLUMN in previous.columns)

    def refreshed(name: str, options: Mapping[str, Any]) -> _Result:
        result = _refresh_one(PROVIDERS[name], rows[name], records[name], options, progress, every)
        result.frame = _names_kept(result.frame, rows[name])
        return result

    return _combined(each_provider(chosen, refreshed))


def _combined(results: Mapping[str, _Result]) -> pd.DataFrame:
    """The providers' frames as one, with the records of what each refresh did."""
    frames = [result.frame for result in results.values() if len(result.frame)]
    combined = conform(pd.concat(frames, ignore_index=True)) if frames else empty_frame()
    combined.attrs = {"pulls": {name: result.record for name, result in results.items()},
                      "refresh": {name: result.info for name, result in results.items()}}
    return combined


# -- what the previous pull was ------------------------------------------------------------


def _previous_pulls(previous: pd.DataFrame) -> tuple[dict[str, dict[str, Any]], dict[str, pd.DataFrame]]:
    """Each pulled provider's record and its rows in ``previous``; ``ValueError`` if none."""
    attrs = previous.attrs or {}
    stored = attrs.get("pulls")
    if not isinstance(stored, Mapping) and isinstance(attrs.get("pull"), Mapping):
        stored = {attrs["pull"].get("provider"): attrs["pull"]}
    if not isinstance(stored, Mapping) or not stored:
        raise ValueError(_NOT_FROM_A_PULL.format(
            detail="This frame has no record of a pull (df.attrs['pulls'])."))
    records: dict[str, dict[str, Any]] = {}
    for name, record in stored.items():
        if name not in PROVIDERS or not _is_record(record):
            raise ValueError(_NOT_FROM_A_PULL.format(
                detail=f"Its record of the {name!r} pull is incomplete (no filters, server or start)."))
        records[name] = dict(record)
    # The same columns without the attrs: pandas copies attrs deeply on every operation, and a
    # pull's record is large enough to cost more than the operations themselves.
    frame = pd.DataFrame(previous, copy=False)
    frame.attrs = {}
    dropped = [name for name in COLUMNS if name not in frame.columns]
    if dropped:
        # pandas keeps attrs through a selection of columns too: the carried rows would come
        # back with those columns empty, under a record that says nothing went wrong.
        raise ValueError(
            f"previous lacks {', '.join(dropped)}, which a refresh carries forward for the rows it "
            "does not fetch: columns were dropped after the pull (pandas keeps the pull's record "
            "through a selection), and the refreshed rows would come back without them. Refresh "
            "the frame the pull returned, then select columns: tk.refresh(df)[columns].")
    rows = {}
    snapshots = attrs.get("snapshots", {})
    for name in records:
        mine = frame["provider"] == name
        if SNAPSHOT_COLUMN in frame.columns:
            # A history: only the snapshot the record belongs to is the previous pull.
            moment = snapshots.get(name) if isinstance(snapshots, Mapping) else None
            if moment is None:
                raise ValueError(_NOT_FROM_A_PULL.format(
                    detail=f"It has {SNAPSHOT_COLUMN} but does not say which snapshot of {name!r} its record "
                           "belongs to (df.attrs['snapshots'])."))
            mine &= _of_snapshot(frame, moment)
        chosen = mine.to_numpy(dtype=bool, na_value=False)
        rows[name] = conform(frame if chosen.all() else frame[chosen])[list(COLUMNS)]
    return records, rows


def _check_whole(chosen: Sequence[str], rows: Mapping[str, pd.DataFrame],
                 records: Mapping[str, Mapping[str, Any]], *, more_allowed: bool = False) -> None:
    """``ValueError`` when ``previous`` holds another number of a provider's rows than its
    pull returned.

    pandas keeps ``attrs`` through a selection, so a frame filtered after the pull still
    carries the whole pull's record. Refreshed, it would count short of the server's total,
    be pulled in full, and bring back every row the user had dropped. ``more_allowed``: a
    history's snapshot may hold more rows than its pull returned (two files saved at one
    moment), never fewer.
    """
    broken = [name for name in chosen
              if not _held_whole(records[name], len(rows[name]), more_allowed=more_allowed)]
    if not broken:
        return
    counts = "; ".join(f"{len(rows[name]):,} {name} rows where its pull returned {records[name]['rows']:,}"
                       for name in broken)
    whole = [name for name in chosen if name not in broken]
    leave_out = (f", or refresh only the providers it holds whole: providers={whole!r} (or a dict of their "
                 "settings)" if whole and not any(len(rows[name]) for name in broken) else "")
    pulled_again = " and ".join(broken)
    raise ValueError(
        f"previous holds {counts}: rows were dropped or added after the pull, and refreshing it would "
        f"pull {pulled_again} in full and bring them back. Refresh the frame the pull returned and "
        f"filter the result{leave_out}.")


def _of_snapshot(history: pd.DataFrame, moment: Any) -> pd.Series:
    """Which rows of a history (``load_snapshots``) belong to the snapshot taken at ``moment``."""
    return pd.to_datetime(history[SNAPSHOT_COLUMN], utc=True) == pd.Timestamp(moment)


def _held_whole(record: Mapping[str, Any], held: int, *, more_allowed: bool = False) -> bool:
    """Whether ``held`` rows are what the pull ``record`` tells of returned (or more, when
    ``more_allowed``); a record without a count is taken at its word."""
    pulled = record.get("rows")
    return (not isinstance(pulled, int) or isinstance(pulled, bool) or pulled == held
            or (more_allowed and held > pulled))


def _is_record(record: Any) -> bool:
    return (isinstance(record, Mapping) and isinstance(record.get("filters"), Mapping)
            and isinstance(record.get("base_url"), str) and isinstance(record.get("started_at"), str))


def _chosen(providers: Sequence[str] | Mapping[str, Mapping[str, Any]] | None,
            records: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Provider name -> loader settings, checked against what ``previous`` pulled."""
    chosen = {name: {} for name in records} if providers is None else named_options(providers)
    for name, options in chosen.items():
        if name not in PROVIDERS:
            raise ValueError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}")
        if name not in records:
            raise ValueError(f"the previous frame holds no {name} pull to refresh; pull it with "
                             f"tk.load_conversations([{name!r}])")
        # Keys, servers and HTTP settings only: filters come from the previous pull's record.
        foreign = sorted(set(options) - LOADER_SETTINGS)
        if foreign:
            allowed = ", ".join(sorted(LOADER_SETTINGS))
            raise ValueError(f"{name}: {', '.join(foreign)} cannot be given to tk.refresh: filters come "
                             f"from the previous pull; settings allowed: {allowed}")
    return chosen


# -- one provider --------------------------------------------------------------------------


def _refresh_one(provider: Provider, rows: pd.DataFrame, record: dict[str, Any], options: Mapping[str, Any],
                 progress: bool | None, every: pd.Timedelta) -> _Result:
    options = dict(options)
    progress = options.pop("progress", progress)
    api_key, base_url = options.pop("api_key", None), options.pop("base_url", None)
    settings = PullOptions(progress=progress, **options)
    params: Params = dict(record["filters"])
    base = provider.base_url(base_url)
    last_full = pd.Timestamp(record.get("full_pull_at") or record["started_at"])
    started = utc_now()
    reason = None
    if base != record["base_url"].rstrip("/"):
        reason = "the previous pull came from another server"
    elif missing_count(rows["conversation_id"]):
        reason = "the previous frame has rows without an id, which cannot be matched"
    elif started - last_full >= every:
        reason = f"the last full pull is {age_text(started - last_full)} old, full_every is {age_text(every)}"
    if reason is not None:
        return _full_pull(provider, params, api_key, base_url, settings, reason, requests_before=0)
    since, clock = activity_since(record)
    reader = _Reader(provider, provider.client(provider.api_key(api_key), base, settings), settings)
    with reader:
        try:
            merge, total = _read_changes(reader, rows, params, since)
        except _Unmatchable as unmatchable:
            return _full_pull(provider, params, api_key, base_url, settings, str(unmatchable),
                              requests_before=reader.client.stats.requests)
        if total is not None and len(merge.frame) != total:
            # The count and the sweeps are served moments apart, so a thread new in between
            # can be in one and not the other: counted once more, now that everything is read
            # (one round trip, where the full pull it may spare costs hundreds).
            total = reader.total(params)
        requests = reader.client.stats.requests
    warn_unreadable(provider, reader.tally, stacklevel=4)  # tk.refresh's caller
    merged = merge.frame
    if total is None or len(merged) != total:
        why = ("the server reported no total" if total is None else
               f"the merged list has {len(merged)} conversations but the server reports {total}")
        return _full_pull(provider, params, api_key, base_url, settings, why, requests_before=requests)
    new_record = {
        "provider": provider.name, "base_url": base, "path": provider.path, "filters": params,
        "kind": "refresh", "started_at": started.isoformat(), "finished_at": utc_now().isoformat(),
        "full_pull_at": last_full.isoformat(), "rows": len(merged), **reader.client.stats.as_dict(),
        "passes": {name: _jsonable(report.as_dict()) for name, report in reader.reports.items()},
        "merged_beside_sweeps": merge.beside_sweeps,
        "unreadable_values": dict(reader.tally.counts),
    }
    info = {"rows_fetched": merge.rows_fetched, "rows_carried": merge.rows_carried, "requests": requests,
            "full_pull": False, "reason": None, "since": since.isoformat(), "since_clock": clock}
    return _Result(merged, new_record, info)


def activity_since(record: Mapping[str, Any]) -> tuple[pd.Timestamp, str]:
    """Where a refresh's activity read starts, and whose clock says so (``"server"`` or ``"ours"``).

    The server stamps the messages, so its own clock is the one to compare them with: the
    earliest ``Date`` it sent during the previous pull, less :data:`SERVER_CLOCK_LAG`.
    A record without one (a server that sends none, a snapshot from before it was kept)
    falls back to the pull's start on our clock, less :data:`SAFETY_LAG`.
    """
    served = record.get("server_time_first")
    if isinstance(served, str):
        try:
            return pd.Timestamp(served).tz_convert("UTC") - SERVER_CLOCK_LAG, "server"
        except (ValueError, TypeError):
            pass  # a record edited by hand: our clock, with the wider lag
    return pd.Timestamp(record["started_at"]) - SAFETY_LAG, "ours"


def _full_pull(provider: Provider, params: Params, api_key: str | None, base_url: str | None,
               settings: PullOptions, reason: str, requests_before: int) -> _Result:
    """The provider pulled in full with the previous filters, recorded as a fresh start."""
    frame = load(provider, params, api_key=api_key, base_url=base_url, options=settings)
    pull = dict(frame.attrs.get("pull", {}))
    pull.update(kind="full", full_pull_at=pull.get("started_at"))
    requests = requests_before + int(pull.get("requests", 0))
    info = {"rows_fetched": len(frame), "rows_carried": 0, "requests": requests, "full_pull": True,
            "reason": reason, "since": None, "since_clock": None}
    return _Result(conform(frame)[list(COLUMNS)], pull, info)


# -- reading lists -------------------------------------------------------------------------


class _Reader(ListReader):
    """A :class:`ListReader` that guesses no pages ahead, and starts slow down to an end test.

    Every page sent beyond the one that reaches the end is a wasted request; a refresh's
    reads from the top of a list usually need one to a dozen pages, so they open with few
    requests in flight, as sweeps do (:class:`ListReader`). A list the previous frame says
    fills a wave of pages (``long_list``: the unread list, or the activity read when the
    previous frame already holds that many rows active since the read's start) opens with
    a full wave, as a full pull does, end test or not.
    """

    long_list = False
    # A refresh reads a few dozen pages: converted 32 at a time (a conversion costs a few ms
    # whatever its size), most of them while the rest are on the wire.
    digest_batch = 32

    def speculates(self, query: ListQuery) -> bool:
        return self.long_list

    def sharing(self, workers: int, slots: SlotPool | None = None, *, urgent: bool = False) -> _Reader:
        """A reader on the same client, for one of the lists read at the same time: at most
        ``workers`` requests of its own in flight, each in a slot of ``slots`` (shared by
        the lists) when given, ahead of the other list's when ``urgent``."""
        shared = _Reader(self.provider, self.client, replace(self.options, max_workers=workers))
        shared.long_list = self.long_list
        shared.slots, shared.urgent = slots, urgent
        return shared

    def absorb(self, other: ListReader) -> None:
        """Take in what ``other`` (from :meth:`sharing`) read: its pass reports and unreadable values."""
        self.reports.update(other.reports)
        self.tally.counts.update(other.tally.counts)

    def with_total(self, name: str, query: ListQuery) -> tuple[pd.DataFrame, int | None]:
        """Every row of a list read complete (:meth:`read_complete`), and its reported total."""
        rows = self.read_complete(name, query)
        # The first pass reads the list as asked (a sweep may narrow it): its total counts.
        totals = self.reports[name].totals_reported
        return rows, (totals[-1] if totals else None)

    def total(self, params: Params) -> int | None:
        """The total the server reports for a list, from one one-row page."""
        response = self.client.get_json(self.provider.path, {**params, "limit": 1, "offset": 0})
        return self.provider.read_page(response, 0, 1).total


class _Background:
    """A call run on a daemon thread: a stalled request never holds up the interpreter's exit."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self._call = call
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="toolkit-refresh", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as error:  # raised again on the caller's thread by result()
            self._error = error

    def result(self) -> Any:
        """The call's value, waiting for it; its exception raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self) -> None:
        """Wait for the call to end, whatever its outcome (bounded by the client's deadline)."""
        self._thread.join()


def _read_changes(reader: _Reader, rows: pd.DataFrame, params: Params, since: pd.Timestamp
                  ) -> tuple[_Merge, int | None]:
    """The previous ``rows`` brought up to date from what changed since ``since``, and the server's total."""
    provider = reader.provider
    unread_params = provider.unread_params(params)
    # The previous frame foretells the unread list's length: one that fills a wave opens with one.
    unread_rows = rows["has_unread"].to_numpy(dtype=bool, na_value=False)
    reader.long_list = int(unread_rows.sum()) >= reader.options.page_size * reader.options.workers
    if unread_params == params:
        # The filtered list is its own unread list: reading it whole is the refresh.
        whole, total = reader.with_total("unread", ListQuery(params))
        fetched = provider.mark_unread(whole, params, None)  # _merge_of keeps each one's latest
        nothing_carried = _CarriedSide.of(provider, rows.iloc[:0], params, utc_now())
        return _merge_of(provider, params, params, fetched, empty_frame(), nothing_carried), total
    listed = {name: value for name, value in params.items() if name not in provider.moved_by_activity}
    activity = provider.refresh_activity(listed, since)
    # The server's count: the last page of the activity read tells it when that read is the
    # list itself from the top (Briq's); otherwise it is asked, once.
    told = activity is not None and activity.params == params
    counting: list[_Background] = []

    def ask_count() -> None:
        if not told and not counting:
            counting.append(_Background(lambda: reader.total(params)))

    def server_total() -> int | None:
        return _last_total(reader, "activity") if told else counting[0].result()

    workers = reader.options.workers
    if activity is None or workers < 2:
        active = empty_frame() if activity is None else reader.read_complete("activity", activity)
        unread = reader.read_complete("unread", ListQuery(unread_params))
        ask_count()  # awaited after the merge
        side = _CarriedSide.of(provider, rows, params, utc_now())
        return _merge_of(provider, params, listed, active, unread, side), server_total()
    # Both lists at once, in one pool of request slots: the activity read is short, and
    # takes the slots it can use first (at most its share: it grows from one request and
    # must not starve the long list), the unread list the rest. A message arriving meanwhile
    # shows in both; the version fetched later wins (keep_latest), as in a full pull.
    activity_slots = max(1, round(workers * ACTIVITY_SHARE))
    slots = SlotPool(workers)
    activity_reader = reader.sharing(activity_slots, slots, urgent=True)
    unread_reader = reader.sharing(workers, slots)
    answered = activity_reader.answered = unread_reader.answered
    # The activity read guesses a whole wave of pages ahead only when rows already known to
    # be active since then fill one. Otherwise it starts with one page (or a few, down to an
    # end test) and grows: beside a long unread list it has that list's waves to grow in,
    # and a guess past its end would be requests for nothing (Wassist's read conversations
    # with new activity usually fit one page). Known rows count only where the activity
    # read itself would list them (Wassist's leaves the unread ones out).
    active_rows = (rows["last_message_at"] >= since).to_numpy(dtype=bool, na_value=False)
    listed_by_activity = provider.still_listed(rows, activity.params).to_numpy(dtype=bool)
    known_active = int((active_rows & listed_by_activity).sum())
    activity_reader.long_list = known_active >= reader.options.page_size * activity_slots
    # Once both first passes are in, the rows read so far are merged while the sweeps are
    # on the wire; the sweeps then only confirm that merge, as a rule (see _Merge.confirmed).
    # What it takes of the previous rows is made while the first requests are out (see below).
    firsts: dict[str, RowsOf] = {}
    firsts_lock = threading.Lock()
    # Started as the first passes come in: the first list's parsing, then the merge.
    early: list[_Background] = []

    def merge_so_far() -> _Merge:
        first = {name: rows_of() for name, rows_of in firsts.items()}
        merge = _merge_of(provider, params, listed, first["activity"], first["unread"], carried_side.result())
        return merge.prepared(first)

    # The two lists' sweeps go out together, once both first passes are in: the activity
    # read (short) waits for the unread list's first pass before its sweep. A thread new
    # since then shows in the sweeps and in the count alike (Briq's activity sweep reports
    # it; Wassist's is asked beside them), so the merged count and the server's agree.
    unread_first_in = threading.Event()

    # A first pass's last pages are parsed only when its rows are asked for (read_complete
    # holds them): the first of the two lists in has them parsed at once, on a thread of
    # their own; the second, by the merge, which starts after the sweeps' go-ahead is given,
    # so that parsing does not hold up the sweeps' requests.
    def first_pass_in(name: str) -> Callable[[RowsOf], None]:
        def arrived(rows_of: RowsOf) -> None:
            if name == "unread":
                unread_first_in.set()
            with firsts_lock:
                firsts[name] = rows_of
                early.append(_Background(merge_so_far if len(firsts) == 2 else rows_of))
            if name == "unread":
                ask_count()
            else:
                unread_first_in.wait()
        return arrived

    # A conversation moves in the unread list only with new activity, which moves it up in
    # the list itself as well: when the activity read is that list from the top (told) and
    # the unread list a part of it, the activity read's sweep, sent once the unread list's
    # first pass is in, catches every row that moved during that pass: the unread list
    # needs no sweep of its own.
    unread_swept = not (told and provider.unread_within(params))
    unread_query = ListQuery(unread_params)
    first_active = provider.first_active_since(since)
    if not unread_swept and unread_reader.long_list and first_active is not None:
        # Its top is then the activity read's too (the unread conversations active since
        # ``since``): read bottom-up, it stops where those begin (see _UnreadBelowActivity).
        held = _UnreadBelowActivity.of(unread_rows, active_rows, first_active)
        unread_query = replace(unread_query, held_top=held)
    pending = _Background(lambda: activity_reader.read_complete(
        "activity", activity, after_first_pass=first_pass_in("activity")))

    def carried_once_answered() -> _CarriedSide:
        # Made once the first requests are out (before, it would hold them up), while the
        # client waits for the pages. The merge stands as of this moment; its confirmation
        # brings the carried windows up to the end of the reading.
        answered.wait()
        return _CarriedSide.of(provider, rows, params, utc_now())

    carried_side = _Background(carried_once_answered)
    try:
        try:
            unread = unread_reader.read_complete("unread", unread_query, sweeps=unread_swept,
                                                 after_first_pass=first_pass_in("unread"))
        finally:
            unread_first_in.set()  # a failed unread read must not leave the activity read waiting
            answered.set()  # nor the carried side, when no page came back
        active = pending.result()
    except Exception:
        # A refresh that fails leaves nothing it started talking to the server.
        for started in [pending, carried_side, *counting, *early]:
            started.wait()
        raise
    reader.absorb(activity_reader)
    reader.absorb(unread_reader)
    ask_count()  # awaited after the merge (if not asked already)
    as_of = utc_now()
    try:
        if len(early) == 2:
            merge = early[1].result().confirmed(as_of, {"activity": active, "unread": unread})
            if merge is not None:
                return merge, server_total()
        side = _CarriedSide.of(provider, rows, params, as_of)
    except _Unmatchable:
        for started in counting:  # the count asked beside the merge is not left talking
            started.wait()
        raise
    return _merge_of(provider, params, listed, active, unread, side), server_total()


class _Unmatchable(ValueError):
    """Previous rows a merge cannot match (a conversation held twice, which a pull never
    returns): found while the first requests are out, it turns the refresh into a full pull."""


@dataclass(frozen=True)
class _UnreadBelowActivity:
    """The top of an unread list within the list the activity read reads from the top
    (Briq's): the unread conversations active since ``since``, which the activity read holds.

    Ordered most recently active first, the unread list begins with them; below lie the
    unread conversations last active before ``since``. Those were unread in the previous
    pull already (a conversation becomes unread only with a new message), so there are at
    most as many as the previous frame holds, and at least ``total`` less that many rows
    of the top are the activity read's. A page whose first row was active since ``since``
    has only such rows above it; a conversation that moves above it while the list is read
    has new activity, which the activity read's sweep (sent once the unread list is in)
    finds. So the unread list is read bottom-up and stops there: some 700 conversations of
    the benchmark's inbox, read twice otherwise.
    """

    expected_rows: int
    unread_before: int
    first_active: Callable[[Page], bool]

    @classmethod
    def of(cls, unread: np.ndarray, recent: np.ndarray,
           first_active: Callable[[Page], bool]) -> _UnreadBelowActivity:
        """From which previous rows had unread messages and which were active since ``since``."""
        return cls(int(unread.sum()), int((unread & ~recent).sum()), first_active)

    def rows(self, total: int) -> int:
        return max(0, total - self.unread_before)

    def covers(self, page: Page) -> bool:
        return self.first_active(page)


@dataclass
class _Merge:
    """One provider's refreshed rows, merged from one set of fetched rows as of one moment.

    Attributes
    ----------
    frame : DataFrame
        Fetched and carried rows, most recently active first.
    latest : DataFrame
        The lists' rows, one per conversation (:func:`keep_latest`), before the unread
        marking and the filters: what rows read later are compared with.
    landed : ndarray of int
        For each row of ``latest``, its row in ``frame`` (-1 when a filter left it out).
    carried_rows : ndarray of bool
        Which rows of ``frame`` are carried.
    rows_fetched, rows_carried : int
    as_of : Timestamp
        The moment carried windows were judged at: carried rows' ``fetched_at``.
    """

    frame: pd.DataFrame
    latest: pd.DataFrame
    landed: np.ndarray
    carried_rows: np.ndarray
    rows_fetched: int
    rows_carried: int
    as_of: pd.Timestamp
    #: Whether ``is_active`` closes with the window (:attr:`Provider.active_is_window`).
    active_is_window: bool = False
    #: Which rows the list's filters hold (:meth:`Provider.still_listed` with the pull's
    #: filters): asked again of carried rows whose window closes before the confirmation.
    keeps: Callable[[pd.DataFrame], pd.Series] | None = field(default=None, repr=False)
    #: Whether the merge was made while the sweeps were on the wire, and they confirmed it.
    beside_sweeps: bool = False
    # What confirmed() looks things up in, made ahead by prepared() (off the critical path).
    _ready: _Confirming | None = field(default=None, repr=False)

    #: Columns a conversation read again may show otherwise with nothing else changed: the
    #: moment of the fetch, and Wassist's window expiry (that moment plus whole seconds left).
    MOMENT_COLUMNS = ("fetched_at", "window_expires_at")

    def prepared(self, first_passes: Mapping[str, pd.DataFrame]) -> _Merge:
        """This merge with what :meth:`confirmed` looks things up in made ahead, while the
        sweeps are on the wire; ``first_passes`` holds each list's first-pass rows, by name."""
        frame = self.frame
        naive = NAIVE_TIMESTAMP
        same = [name for name in self.latest.columns if name not in self.MOMENT_COLUMNS]
        ids = self.latest["conversation_id"]
        named = ids.notna().to_numpy()
        # The earliest moment a carried window closes at: the confirmation closes the ones
        # that closed by its moment.
        open_carried = self.carried_rows & frame["window_open"].to_numpy(dtype=bool, na_value=False)
        expiries = frame["window_expires_at"].to_numpy(dtype=naive)[open_carried]
        expiries = expiries[~np.isnat(expiries)]
        open_carried &= ~np.isnat(frame["window_expires_at"].to_numpy(dtype=naive))
        ready = _Confirming(
            compared={name: self.latest[name].array for name in same},
            ids=id_text(ids[named]), id_rows=np.flatnonzero(named),
            first_ids={name: id_text(rows["conversation_id"].dropna())
                       for name, rows in first_passes.items()},
            first_sizes={name: len(rows) for name, rows in first_passes.items()},
            closes_at=expiries.min() if len(expiries) else None, open_carried=open_carried,
            moments={name: frame[name].to_numpy(dtype=naive) for name in self.MOMENT_COLUMNS})
        return replace(self, _ready=ready)

    def confirmed(self, as_of: pd.Timestamp, lists: Mapping[str, pd.DataFrame]) -> _Merge | None:
        """This merge, made from the lists' first passes (:meth:`prepared`), as the merge of
        all their rows as of ``as_of`` would be; ``None`` when that would differ in more than
        the moments of fetches and the carried windows closed in between.

        ``lists`` holds each list's rows, by name: its first pass's, then its sweeps'. The
        merge holds when every conversation a sweep read was read by the same list's first
        pass, with the same values apart from :attr:`MOMENT_COLUMNS` (so the unread marking,
        the filters and the order are those of a merge of everything), and when the filters
        still hold every carried conversation whose window closed in between (a filter on
        open windows lets it go: then everything is merged again). Then carried rows are
        vouched for as of ``as_of``, their windows closed where they closed in between (as
        :func:`_as_carried` would judge them then), and a conversation read again takes the
        moments of its latest fetch, as :func:`keep_latest` would give it.
        """
        ready = self._ready
        if ready is None:
            raise ValueError("confirmed() needs a merge from prepared()")
        moment = as_of.tz_convert(None).to_datetime64().astype(NAIVE_TIMESTAMP)
        fetched_at = np.where(self.carried_rows, moment, ready.moments["fetched_at"])
        changes: dict[str, Any] = {"fetched_at": fetched_at}
        for name, everything in lists.items():
            swept = everything.iloc[ready.first_sizes[name]:]
            if not len(swept):
                continue
            ids = swept["conversation_id"]
            if ids.isna().any():
                return None
            swept_ids = id_text(ids)
            if (positions_among(swept_ids, ready.first_ids[name]) < 0).any():
                return None
            found_at = positions_among(swept_ids, ready.ids)
            if (found_at < 0).any():
                return None
            places = ready.id_rows[found_at]
            # Column by column, on the arrays: a frame's take and equals cost ten times more for
            # a page of rows.
            if not all(values.take(places).equals(swept[column].array)
                       for column, values in ready.compared.items()):
                return None
            # A later read's moments win, as in keep_latest; rows come in the order read.
            where = self.landed[places]
            swept_at = swept["fetched_at"].to_numpy(dtype=NAIVE_TIMESTAMP)
            later = (where >= 0) & (swept_at > fetched_at[np.maximum(where, 0)])
            if not later.any():
                continue
            for column in self.MOMENT_COLUMNS:
                if column not in changes:
                    changes[column] = ready.moments[column].copy()
                changes[column][where[later]] = swept[column].to_numpy(dtype=NAIVE_TIMESTAMP)[later]
        columns = {}
        if ready.closes_at is not None and ready.closes_at <= moment:
            expired = ready.open_carried & (ready.moments["window_expires_at"] <= moment)
            closed = _windows_closed(self.frame, expired, active_is_window=self.active_is_window)
            if self.keeps is not None:
                now_closed = self.frame[expired].assign(**{name: values[expired]
                                                           for name, values in closed.items()})
                if not self.keeps(now_closed).to_numpy(dtype=bool).all():
                    return None
            columns.update(closed)
            if "window_expires_at" in closed and "window_expires_at" in changes:
                # A later fetch's moments (below) replace the column: they keep the closing too.
                changes["window_expires_at"][expired] = np.datetime64("NaT")
        for name, values in changes.items():
            column = utc_column(values)
            column.index = self.frame.index
            columns[name] = column
        return replace(self, frame=self.frame.assign(**columns), as_of=as_of, beside_sweeps=True, _ready=None)


@dataclass(frozen=True)
class _Confirming:
    """What :meth:`_Merge.confirmed` looks things up in, made by :meth:`_Merge.prepared`."""

    #: The compared columns of the merge's ``latest`` rows, as arrays.
    compared: dict[str, Any]
    #: The ids of ``latest`` as Arrow text (rows without one left out: keep_latest keeps them
    #: all), and their rows.
    ids: Any
    id_rows: np.ndarray
    #: Per list, the ids (Arrow text) and the number of rows of its first pass.
    first_ids: dict[str, Any]
    first_sizes: dict[str, int]
    #: The earliest moment a carried window closes at (UTC, without zone), if any is open.
    closes_at: np.datetime64 | None
    #: Which rows of the merged frame are carried with an open window that has an expiry.
    open_carried: np.ndarray
    #: The merged frame's fetch moments (:attr:`_Merge.MOMENT_COLUMNS`) as NumPy arrays.
    moments: dict[str, np.ndarray]


@dataclass(frozen=True)
class _CarriedSide:
    """The previous rows as a refresh carries them as of one moment (:func:`_as_carried`), with
    what a merge looks up in them: made once, while the first requests are on the wire.

    Attributes
    ----------
    rows : DataFrame
        The previous rows, the toolkit's columns, windows judged as of ``as_of``.
    listed : ndarray of bool
        Which of them the filters still hold.
    keys : RecencyKeys or None
        Their order keys and ids as text (``None`` when ``last_message_at`` is not UTC moments).
    as_of : Timestamp
    """

    rows: pd.DataFrame
    listed: np.ndarray
    keys: RecencyKeys | None
    as_of: pd.Timestamp

    @classmethod
    def of(cls, provider: Provider, rows: pd.DataFrame, params: Params, as_of: pd.Timestamp) -> _CarriedSide:
        if not rows["conversation_id"].is_unique:
            # Checked here, off the requests' way: which of two rows to carry is unknowable.
            raise _Unmatchable("the previous frame holds a conversation more than once, which cannot be "
                               "matched")
        previous = _as_carried(rows, as_of, active_is_window=provider.active_is_window)[list(COLUMNS)]
        return cls(previous, provider.still_listed(previous, params).to_numpy(dtype=bool),
                   RecencyKeys.of(previous["last_message_at"], previous["conversation_id"]), as_of)


def _merge_of(provider: Provider, params: Params, listed: Params, active: pd.DataFrame, unread: pd.DataFrame,
              side: _CarriedSide) -> _Merge:
    """The previous rows (``side``) brought up to date with the lists' rows, as of ``side.as_of``.

    Fetched rows replace the previous ones; the rest are carried (:func:`_as_carried`)
    while the filters still hold them.
    """
    previous = side.rows
    column_text = side.keys.text if side.keys is not None else None
    # Which previous rows were fetched, looked up in both lists' ids (keep_latest keeps one row
    # of each): Arrow looks them up without the interpreter lock, on the other core, while this
    # thread keeps each conversation's latest row.
    ids = pd.concat([active["conversation_id"], unread["conversation_id"]], ignore_index=True).dropna()
    lookup = _Background(lambda: contains(previous["conversation_id"], ids, column_text=column_text))
    try:
        latest = keep_latest([active, unread])
        fetched = latest
        if provider.needs_unread_pass(listed):
            fetched = provider.mark_unread(fetched, listed, unread["conversation_id"].dropna())
    except Exception:
        lookup.wait()  # a failed merge leaves nothing it started running
        raise
    carried = ~lookup.result() & side.listed
    listed_now = provider.still_listed(fetched, params).to_numpy(dtype=bool)
    fetched = fetched[listed_now]
    frame, chosen = _merged(fetched, previous, carried, side.keys)
    # Where each row of ``latest`` landed in ``frame`` (-1: filtered out).
    landed = np.full(len(latest), -1, dtype=np.intp)
    from_fetched = np.flatnonzero(chosen < len(fetched))
    landed[np.flatnonzero(listed_now)[chosen[from_fetched]]] = from_fetched
    return _Merge(frame, latest, landed, chosen >= len(fetched), len(fetched), int(carried.sum()), side.as_of,
                  active_is_window=provider.active_is_window,
                  keeps=lambda rows: provider.still_listed(rows, params))


def _last_total(reader: _Reader, name: str) -> int | None:
    """The total the last page of list ``name`` (its last sweep, else its first pass) reported."""
    passes = [report for label, report in reader.reports.items()
              if label == name or label.startswith(f"{name} sweep ")]
    for report in reversed(passes):  # in the order read: the first pass, then the sweeps
        if report.totals_reported:
            return report.totals_reported[-1]
    return None


def _merged(fetched: pd.DataFrame, previous: pd.DataFrame, carried: np.ndarray,
            previous_keys: RecencyKeys | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Fetched rows and the carried previous ones in a full pull's order, most recently active
    first; and where each of its rows comes from (positions in ``fetched`` and ``previous``
    end to end).

    Both usually come in that order already (:func:`keep_latest`'s and a pull's): the
    fetched rows then find their places among the carried ones
    (:func:`~toolkit._frames.interleaved_order`, with ``previous_keys`` when made already)
    instead of all being sorted again. The merged frame is then written once
    (:func:`_taken_from_two`).
    """
    columns = list(COLUMNS)
    fetched = conform(fetched)[columns]
    carried_rows = np.flatnonzero(carried)
    kept = np.concatenate([np.arange(len(fetched)), len(fetched) + carried_rows])
    order = interleaved_order(fetched["last_message_at"], fetched["conversation_id"],
                              previous["last_message_at"], previous["conversation_id"], carried_rows,
                              second_keys=previous_keys)
    if order is None:  # a previous frame re-sorted by its user: sort the whole again
        at = pd.concat([fetched["last_message_at"], previous["last_message_at"]], ignore_index=True)
        ids = pd.concat([fetched["conversation_id"], previous["conversation_id"]], ignore_index=True)
        order = recency_order(at.take(kept), ids.take(kept))
    chosen = kept[order]
    return _taken_from_two(fetched, previous[columns], chosen), chosen


def _taken_from_two(first: pd.DataFrame, second: pd.DataFrame, chosen: np.ndarray) -> pd.DataFrame:
    """The rows ``chosen`` of ``first`` and ``second`` put end to end (same columns and
    dtypes), without putting them end to end first.

    A refresh's merge takes nearly the whole inbox from ``second`` (the carried rows) and a
    few thousand from ``first``: each NumPy-backed column is taken from ``second`` with
    gaps, which the rows of ``first`` then fill. Concatenating first would write every such
    column twice, in fresh memory each time (a tenth of a refresh's time went on it). Arrow
    text is taken once from both parts' chunks (:func:`_text_taken`), on threads of their
    own, while this thread takes the rest.
    """
    split = len(first)
    from_first = chosen < split
    first_places = np.flatnonzero(from_first)
    first_rows = chosen[first_places]
    second_rows = np.where(from_first, -1, chosen - split)
    index = pa.array(chosen)
    # Arrow text is taken on threads: Arrow takes without the interpreter lock, and at the end
    # of a refresh the other core is idle (the server has sent everything but a sweep).
    with ThreadPoolExecutor(TEXT_TAKERS, thread_name_prefix="toolkit-take") as takers:
        texts = {name: takers.submit(_text_taken, first[name].array, second[name].array, index)
                 for name in first.columns if isinstance(second[name].array, pd.arrays.ArrowStringArray)}
        columns = {}
        for name in first.columns:
            if name in texts:
                continue
            ours, theirs = first[name].array, second[name].array
            if isinstance(theirs, pd.Categorical) and list(theirs.categories) != list(ours.categories):
                # Categories in another order are the same dtype to pandas; ``first``'s order
                # (the schema's, as a pull gives it) is the one end to end would keep.
                theirs = theirs.set_categories(ours.categories)
            values = theirs.take(second_rows, allow_fill=True)
            values[first_places] = ours.take(first_rows)
            columns[name] = values
        columns.update({name: taken.result() for name, taken in texts.items()})
    return pd.DataFrame({name: columns[name] for name in first.columns}, copy=False)


#: Threads that take a merge's text columns (:func:`_taken_from_two`).
TEXT_TAKERS = 2


def _text_taken(ours: Any, theirs: Any, index: Any) -> pd.arrays.ArrowStringArray:
    """Rows ``index`` of Arrow text arrays ``ours`` and ``theirs`` (one dtype) end to end.

    The two parts are joined as chunks (no copy) and taken once, straight on the Arrow
    arrays: pandas' own concat and take would copy, and convert ``index`` per column.
    """
    storage = theirs.__arrow_array__()
    chunks = pa.chunked_array([*ours.__arrow_array__().chunks, *storage.chunks], type=storage.type)
    return pd.arrays.ArrowStringArray(chunks.take(index), dtype=theirs.dtype)


def _as_carried(rows: pd.DataFrame, as_of: pd.Timestamp, *, active_is_window: bool) -> pd.DataFrame:
    """Previous rows as a refresh carries the ones it does not fetch: windows as of ``as_of``.

    Every conversation with unread messages is in the unread list, so a carried one has
    none (it was read, if it had any). With ``active_is_window``, ``is_active`` closes with
    the window, and a closed window has no expiry (Wassist's reading of its seconds left).
    """
    expired = (rows["window_open"].eq(True) & (rows["window_expires_at"] <= as_of)).to_numpy(
        dtype=bool, na_value=False)
    changes: dict[str, Any] = (_windows_closed(rows, expired, active_is_window=active_is_window)
                               if expired.any() else {})
    changes["has_unread"] = pd.array(np.zeros(len(rows), dtype=bool), dtype=BOOLEAN)
    counted = rows["unread_count"].notna()
    changes["unread_count"] = rows["unread_count"].mask(counted, 0).astype(INT)
    changes["fetched_at"] = pd.Series(as_of, index=rows.index).astype(rows["fetched_at"].dtype)
    # assign shares the unchanged columns with rows (copy-on-write): nothing else is copied.
    return rows.assign(**changes)


def _windows_closed(rows: pd.DataFrame, expired: np.ndarray, *,
                    active_is_window: bool) -> dict[str, pd.Series]:
    """The columns of ``rows`` that change when the windows of the ``expired`` rows close: the
    window, and with ``active_is_window`` ``is_active`` and the expiry (a closed window has
    none: Wassist's reading of its seconds left)."""
    closed = {"window_open": rows["window_open"].mask(expired, False)}
    if active_is_window:
        closed["window_expires_at"] = rows["window_expires_at"].mask(expired)
        closed["is_active"] = rows["is_active"].mask(expired, False)
    return closed


def _names_kept(frame: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the channel names ``previous`` knew, where the provider sent none.

    Names given with :func:`toolkit.name_channels` (Briq sends sender ids only) then stay
    on every row of their channel, fetched or carried, after a full pull too. A name the
    provider sends wins. Where ``previous`` named a channel twice, its most recent row's
    name counts.
    """
    if missing_count(previous["channel_name"]) == len(previous) or not missing_count(frame["channel_name"]):
        return frame  # no name known (Briq's frames), or none missing (Wassist's): nothing to pass on
    # The masks first: selecting rows copies every column, which costs more than the test.
    naming = (previous["channel_id"].notna() & previous["channel_name"].notna()).to_numpy(dtype=bool)
    missing = (frame["channel_name"].isna() & frame["channel_id"].notna()).to_numpy(dtype=bool)
    if not naming.any() or not missing.any():
        return frame
    named = previous[naming]
    latest = most_recent_first(named).drop_duplicates("channel_id")
    lookup = pd.Series(latest["channel_name"].to_numpy(), index=latest["channel_id"].to_numpy())
    frame = frame.copy()
    frame.loc[missing, "channel_name"] = frame.loc[missing, "channel_id"].map(lookup)
    return frame


def age_text(span: pd.Timedelta) -> str:
    """A span as people say it: ``"26.5 h"``, ``"45 min"``, ``"20 s"``, ``"2.5 s"``, ``"500 ms"``.

    Examples
    --------
    >>> age_text(pd.Timedelta(minutes=90)), age_text(pd.Timedelta(milliseconds=500))
    ('1.5 h', '500 ms')
    """
    seconds = span / pd.Timedelta(seconds=1)
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    if seconds >= 10:
        return f"{seconds:.0f} s"
    # Below ten seconds (a --full-every in seconds or less, a test's clock) whole seconds
    # would say "0 s" of a span that is not zero.
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: (value.isoformat() if isinstance(value, pd.Timestamp) else value)
            for name, value in values.items()}


# -- snapshots -----------------------------------------------------------------------------


def refresh_snapshot(root: str | os.PathLike[str], providers: Mapping[str, Mapping[str, Any]], *,
                     progress: bool | None = None, full_every: Any = DEFAULT_FULL_EVERY,
                     channel_names: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, list[Path]]:
    """Refresh the latest snapshot under ``root`` and save the result as a new snapshot.

    A provider is pulled in full instead when ``root`` has no snapshot of it yet, when
    its latest snapshot was taken with other filters than ``providers`` asks for, when it
    holds fewer rows than its pull returned (a frame filtered, then saved), or when it
    carries no record of its pull. :func:`refresh` itself pulls in full once the
    last full pull is older than ``full_every``.

    Parameters
    ----------
    root : path
        The snapshot folder (created when missing).
    providers : dict
        Provider name -> loader keyword arguments, filters included.
    progress, full_every
        As for :func:`refresh`.
    channel_names : mapping, optional
        ``{channel_id: name}`` applied (:func:`toolkit.name_channels`) before saving; names
        the latest snapshot holds are kept either way.

    Returns
    -------
    (frame, files)
        The frame saved (its ``attrs["refresh"]`` says what each provider did) and the
        files written.
    """
    from .history import load_snapshots, save_snapshot, snapshot_files

    wanted = {name: dict(options) for name, options in providers.items()}
    latest = None
    if Path(root).is_dir() and snapshot_files(root, providers=list(wanted)):
        latest = load_snapshots(root, providers=list(wanted))
    stored = latest.attrs.get("pulls", {}) if latest is not None else {}
    combined = _combined(each_provider(
        wanted, lambda name, options: _refresh_or_pull(name, options, latest, stored, progress, full_every)))
    if channel_names is not None:
        from .channels import name_channels

        combined = name_channels(combined, channel_names)
    files = save_snapshot(combined, root, providers=list(wanted))
    return combined, files


def _refresh_or_pull(name: str, options: Mapping[str, Any], latest: pd.DataFrame | None,
                     stored: Mapping[str, Any], progress: bool | None, full_every: Any) -> _Result:
    """One provider of :func:`refresh_snapshot`: refreshed from ``latest`` where its snapshot
    serves, else pulled in full, with the reason."""
    settings = {key: value for key, value in options.items() if key in LOADER_SETTINGS}
    settings.pop("progress", None)
    filters = recorded_filters(name, options)
    record: Any = stored.get(name)
    one = None
    held = 0
    if latest is not None and _is_record(record) and record["filters"] == filters:
        moment = latest.attrs["snapshots"][name]
        one = latest[latest["provider"].astype("object") == name].copy()
        one.attrs = {"pulls": {name: record}, "snapshots": {name: moment}}
        # The latest snapshot's own rows: the history holds the earlier ones as well.
        held = int(_of_snapshot(one, moment).sum())
    if one is not None and _held_whole(record, held, more_allowed=True):
        frame = refresh(one, {name: settings}, progress=progress, full_every=full_every)
        return _Result(frame, frame.attrs["pulls"][name], frame.attrs["refresh"][name])
    # A snapshot that holds fewer rows than its pull returned (a frame filtered, then
    # saved) cannot be refreshed; the folder's next snapshot is a whole pull again.
    why = ("no snapshot of it yet" if record is None else
           "its latest snapshot has no record of its pull" if not _is_record(record) else
           _other_filters(record["filters"], filters) if one is None else
           f"its latest snapshot holds {held:,} rows where its pull returned {record['rows']:,}: "
           "it was filtered before it was saved")
    api_key, base_url = settings.pop("api_key", None), settings.pop("base_url", None)
    return _full_pull(PROVIDERS[name], filters, api_key, base_url, PullOptions(progress=progress, **settings),
                      why, requests_before=0)


def _other_filters(before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """Why a snapshot is pulled in full: the filters differ from its latest snapshot's, said
    with both, since trends over the folder then plot lists of two kinds together."""
    def words(filters: Mapping[str, Any]) -> str:
        return ", ".join(f"{key}={value}" for key, value in sorted(filters.items())) or "no filters"

    return (f"its latest snapshot was taken with {words(before)}, this one with {words(now)}: "
            "the folder's trends will mix the two")


def recorded_filters(name: str, options: Mapping[str, Any]) -> Params:
    """The filters a pull with these loader arguments records (the provider's query)."""
    return PROVIDERS[name].query_of(options)
