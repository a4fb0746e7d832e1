"""The one flow every loader follows, and the reader of one provider's lists.

:func:`load` checks the settings, opens a :class:`ListReader` on a provider, reads the
conversations (with the provider's unread pass when its rows do not tell), and records
provenance. :class:`ListReader` is the boundary to the paging engine: it hands the pager
a page reader and an end test, and gets pages back to parse.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from .. import _collector
from .._clock import utc_now
from .._errors import AuthenticationError, DataQualityWarning
from .._frames import recency_order
from .._http import HttpClient, RetryPolicy
from .._paging import OffsetPuller, Page, PullReport, SlotPool, records_of
from .._progress import Progress
from .._schema import conform, empty_frame
from .._values import Tally
from ._provider import ListQuery, Params, Provider, PullOptions

# Clocks of client and server may disagree; the sweep reaches this far before the pull.
SWEEP_CLOCK_MARGIN = pd.Timedelta(minutes=5)
MAX_SWEEP_ROUNDS = 3
#: Requests in flight at first on a list read down to an end test, growing with each page.
SWEEP_OPENING_WORKERS = 3
#: Pages a pull converts at a time.
DIGEST_BATCH = 100


def load(provider: Provider, params: Params, *, api_key: str | None, base_url: str | None,
         options: PullOptions) -> pd.DataFrame:
    """Every conversation of ``provider`` matching ``params``, once, in the unified schema.

    The flow of every loader: key and server root, one client, the conversations (see
    :meth:`ListReader.conversations`), one warning for unreadable values, and what the
    pull did in ``df.attrs["pull"]``.

    Raises
    ------
    AuthenticationError, ValueError
        Before any request, for a missing key or a bad server root.
    ApiError, ResponseFormatError, PaginationError
        As the pull meets them.
    """
    key = provider.api_key(api_key)
    base = provider.base_url(base_url)
    started = utc_now()
    with ListReader(provider, provider.client(key, base, options), options) as reader:
        frame = reader.conversations(params)
    warn_unreadable(provider, reader.tally, stacklevel=3)  # the loader's caller
    frame.attrs["pull"] = reader.provenance(params, started, len(frame))
    return frame


#: Seconds at most that a check of another provider's key may take, after one was refused:
#: the error it adds to is already on its way to the person.
KEY_CHECK_SECONDS = 5.0


def refused_key(provider: Provider, settings: Mapping[str, Any]) -> AuthenticationError | None:
    """Whether ``provider``'s key, as its loader's ``settings`` give it, is missing or refused.

    Sent once a pull of several providers met a refused key, so that the person fixing one
    key learns about the other at the same time, not on the next run: one request for one
    row, with the key, server root and HTTP settings the loader would use, one attempt, no
    budget wait, at most :data:`KEY_CHECK_SECONDS` (or the provider's own ``deadline`` and
    ``timeout`` when shorter).

    Parameters
    ----------
    provider : Provider
    settings : mapping
        The keyword arguments of the provider's loader: key, server root, HTTP settings, filters.

    Returns
    -------
    AuthenticationError or None
        The key's error: missing or unusable (no request is sent) or refused (401/403).
        ``None`` for a key that is accepted, for settings or filters the loader would refuse
        before any request (none is sent then either), and for anything else that goes
        wrong, an unreachable server included: the check only adds to an error already
        raised, never replaces it.
    """
    try:
        key = provider.api_key(settings.get("api_key"))
    except AuthenticationError as missing:
        return missing
    try:
        base = provider.base_url(settings.get("base_url"))
        asked = PullOptions(**{name: value for name, value in settings.items()
                               if name in PullOptions.__dataclass_fields__ and name != "progress"})
        provider.query_of(settings)
        limit = min(KEY_CHECK_SECONDS, asked.deadline if asked.deadline is not None else KEY_CHECK_SECONDS)
        timeout = min(float(asked.timeout), limit)
        check = PullOptions(progress=False, rate_limit=None, deadline=limit, timeout=timeout,
                            session=asked.session, retry=RetryPolicy(max_attempts=1))
    except Exception:  # settings the loader would refuse before any request: nothing is sent
        return None
    try:
        client = provider.client(key, base, check)
        try:
            client.get_json(provider.path, {"limit": 1, "offset": 0})
        finally:
            client.close()
    except AuthenticationError as refused:
        return refused
    except Exception:
        return None
    return None


def key_problem_words(error: AuthenticationError) -> str:
    """How another provider's key failed, as the refused key's error and the CLI say it:
    "refused too (HTTP 401)", "missing too" or "unusable too (...)"."""
    if error.status is not None:
        return f"refused too (HTTP {error.status})"
    if "no API key" in str(error):
        return "missing too"
    return "unusable too (a line break or a character other than printable ASCII)"


#: A pass's rows once parsed: waits for the parsing; callable from any thread, more than once.
RowsOf = Callable[[], pd.DataFrame]


class ListReader:
    """Reads one provider's lists through one client, parsing pages as they arrive.

    Parameters
    ----------
    provider : Provider
    client : HttpClient
        Closed when the reader is used as a context manager and the block ends.
    options : PullOptions

    Attributes
    ----------
    tally : Tally
        Unreadable values of every page read.
    progress : Progress
        The load's progress display: a bar per pass, off for good once it fails.
    reports : dict of str to PullReport
        What each pass of :meth:`read_complete` observed, by pass name.
    """

    #: Pages converted at a time (see :class:`~toolkit._paging.PageBatcher`): large batches
    #: cost the least CPU per row on a long list.
    digest_batch = DIGEST_BATCH

    def __init__(self, provider: Provider, client: HttpClient, options: PullOptions) -> None:
        self.provider = provider
        self.client = client
        self.options = options
        self.tally = Tally()
        self.progress = Progress(options.progress, provider.name)
        self.reports: dict[str, PullReport] = {}
        #: Set once a page of any list this reader reads has come back: the first requests
        #: are out, and the client's CPU is free until the pages pile up.
        self.answered = threading.Event()
        #: Requests in flight at first on a list with an end test (see :class:`OffsetPuller`):
        #: a sweep usually ends on its first page.
        self.opening_workers: int | None = SWEEP_OPENING_WORKERS
        #: Request slots shared with another reader on the same client reading at the same
        #: time (see :class:`~toolkit._paging.SlotPool`), and whether this one's come first.
        self.slots: SlotPool | None = None
        self.urgent = False

    def __enter__(self) -> ListReader:
        _collector.pause()  # see toolkit/_collector.py: a fifth of a pull's CPU otherwise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self.client.close()
        finally:
            _collector.resume()

    def conversations(self, params: Params) -> pd.DataFrame:
        """Every conversation matching ``params``, once, its unread state settled.

        Reads the list complete (:meth:`read_complete`) and, where the provider's rows do
        not tell their unread state, its unread list too.
        """
        rows = self.read_complete("conversations", ListQuery(params))
        if not self.provider.needs_unread_pass(params):
            return self.provider.mark_unread(keep_latest([rows]), params, None)
        unread = self.read_complete("unread", ListQuery(self.provider.unread_params(params)))
        unread_ids = unread["conversation_id"].dropna()
        return self.provider.mark_unread(keep_latest([rows, unread]), params, unread_ids)

    def read_complete(self, name: str, query: ListQuery, *,
                      after_first_pass: Callable[[RowsOf], None] | None = None,
                      sweeps: bool = True) -> pd.DataFrame:
        """One list, complete under live traffic: the chained pull, then sweeps.

        A conversation that gets a new message during the pull jumps to the top of the
        list, possibly above pages already read. The sweep re-reads what was active since
        the pull began (the provider's :meth:`~Provider.changed_since`), and repeats,
        bounded, while it keeps finding changes. Each pass's report is kept in
        :attr:`reports` under ``name`` (``"name sweep N"`` for the sweeps).
        ``after_first_pass(rows)`` is called between the first pass and the sweeps, with a
        function that gives the first pass's rows (see :data:`RowsOf`), so that a caller can
        start on them, or send a request it needs last, while the sweeps are on the wire.
        The first pass's last pages are then parsed on the first call of ``rows`` (or once
        the sweeps are done), not at once: a request the caller sends first goes out
        without waiting for the interpreter that parsing holds.
        ``sweeps=False`` reads the first pass alone: for a caller whose other read sweeps, after
        this first pass, a list that every row moving in this one moves up in as well.

        Returns
        -------
        pandas.DataFrame
            Every row fetched, duplicates included (:func:`keep_latest` merges them): the
            first pass's rows first, then each sweep's.
        """
        keys_read: set[Any] = set()
        # One thread converts every pass's pages, in order: each pass ends once its pages
        # are in, and the next pass's first request is on the wire while the last batch is
        # converted (that batch would otherwise leave no request in flight for its length).
        digester = ThreadPoolExecutor(1, thread_name_prefix="toolkit-digest")
        try:
            first, report = self.read(query, name, speculate=self.speculates(query), keys_read=keys_read,
                                      digester=digester, hold_last_batch=after_first_pass is not None)
            passes = [first]
            self.reports[name] = report
            if after_first_pass is not None:
                after_first_pass(first)
            since = _sweep_start(report)
            for round_number in range(1, MAX_SWEEP_ROUNDS + 1 if sweeps else 1):
                sweep = self.provider.changed_since(query.params, since)
                if sweep is None:
                    break
                sweep = ListQuery(sweep.params, is_last=TopUnmoved(keys_read, sweep.is_last))
                swept_keys: set[Any] = set()
                swept, sweep_report = self.read(sweep, f"{name} (sweep)", keys_read=swept_keys,
                                                digester=digester)
                passes.append(swept)
                self.reports[f"{name} sweep {round_number}"] = sweep_report
                # Rows read again as they were read before are no change (keys: id and activity as sent).
                changed = swept_keys - keys_read - {None}
                keys_read |= swept_keys
                if not changed:
                    break
                since = _sweep_start(sweep_report)
            frames = [rows() for rows in passes]
        finally:
            digester.shutdown(wait=True, cancel_futures=True)
        return pd.concat(frames, ignore_index=True)

    def speculates(self, query: ListQuery) -> bool:
        """Whether the first pass over ``query``'s list asks for its first pages at once: a
        list read to its end rarely wastes pages guessed ahead; a list with an end test (like
        a sweep) usually needs one page."""
        return query.is_last is None

    def read(self, query: ListQuery, label: str, *, speculate: bool = False,
             keys_read: set[Any] | None = None,
             digester: Executor | None = None, hold_last_batch: bool = False) -> tuple[RowsOf, PullReport]:
        """Every row of one list (up to its end test), checked for continuity, parsed while pages arrive.

        Returns what the pull observed and a function that gives every row of every page
        fetched (a re-fetched page's rows too), once they are parsed. ``speculate`` asks for
        the first pages at once (see :class:`~toolkit._paging.OffsetPuller`); it is ignored
        when the client keeps a request budget, which guesses would waste. ``keys_read``,
        when given, gains the continuity key of every row read (see :class:`TopUnmoved`)
        before the pages are handed back. ``digester``, one thread, parses the pages instead
        of the calling thread, which then returns once the pages are in. ``hold_last_batch``
        leaves the last pages' parsing to the first call of the returned function.
        """
        provider, client, answered = self.provider, self.client, self.answered
        keys_lock = threading.Lock()

        def fetch(offset: int, limit: int) -> Page:
            response = client.get_json(provider.path, {**query.params, "limit": limit, "offset": offset})
            page = provider.read_page(response, offset, limit)
            if not answered.is_set():
                answered.set()
            if keys_read is not None:
                with keys_lock:
                    keys_read.update(page.keys)
            return page

        parsed: list[pd.DataFrame] = []

        def digest(pages: list[Page]) -> None:
            parsed.append(provider.parse(*records_of(pages), self.tally))

        guess = speculate and not client.paced
        with self.progress.bar(label) as bar:
            puller = OffsetPuller(fetch, provider=provider.name, page_size=self.options.page_size,
                                  max_workers=self.options.workers, is_last=query.is_last,
                                  on_page=bar.update if bar else None, deadline=client.deadline,
                                  on_wait=(lambda: bar.note(_retry_note(client))) if bar else None,
                                  speculate=guess, digest=digest,
                                  digest_batch=self.digest_batch, digest_executor=digester,
                                  # A list with an end test opens with few requests, unless the
                                  # caller foresees a long one (``speculate``).
                                  opening_workers=self.opening_workers if query.is_last and not guess
                                  else None,
                                  hold_last_batch=hold_last_batch, slots=self.slots, urgent=self.urgent,
                                  held_top=query.held_top)
            puller.pull()

        rows_lock = threading.Lock()
        gathered: list[pd.DataFrame] = []
        failed: list[BaseException] = []

        def rows() -> pd.DataFrame:
            # Once, under a lock: a second caller must neither pass the wait before the parsing
            # ends nor miss what a parse raised (the first caller took it from the batcher).
            with rows_lock:
                if failed:
                    raise failed[0]
                if not gathered:
                    try:
                        puller.wait_digested()
                    except BaseException as error:
                        failed.append(error)
                        raise
                    frames = [frame for frame in parsed if len(frame)]
                    gathered.append(empty_frame() if not frames else
                                    pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])
                return gathered[0]

        return rows, puller.report

    def provenance(self, params: Params, started: pd.Timestamp, rows: int) -> dict[str, Any]:
        """What a load did, for ``df.attrs["pull"]``: JSON-friendly, never the key."""
        return {
            "provider": self.provider.name,
            "base_url": self.client.base_url,
            "path": self.provider.path,
            "filters": dict(params),
            "started_at": started.isoformat(),
            "finished_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "rows": rows,
            **self.client.stats.as_dict(),
            "passes": {name: _json_friendly(report.as_dict()) for name, report in self.reports.items()},
            "unreadable_values": dict(self.tally.counts),
        }


class TopUnmoved:
    """End test of a sweep: its first page holds only rows already read, as they were read.

    The sweep rests on this: a conversation with new activity jumps to the top of the list.
    When the top page, read again, holds only (id, last activity) pairs the pull already
    read, nothing moved since (a moved row would show there with its new activity), and
    the rest of the sweep would only re-read rows already held: one request instead of
    every page active within the clock margin. Otherwise the sweep's own end test rules.

    Parameters
    ----------
    keys_read : set
        Continuity keys of every row read so far (see :attr:`Page.keys`).
    otherwise : callable, optional
        The sweep's own end test.
    """

    def __init__(self, keys_read: set[Any], otherwise: Callable[[Page], bool] | None) -> None:
        self.keys_read = keys_read
        self.otherwise = otherwise

    def __call__(self, page: Page) -> bool:
        if page.offset == 0 and page.keys and all(key is not None and key in self.keys_read
                                                  for key in page.keys):
            return True
        return bool(self.otherwise(page)) if self.otherwise is not None else False


def keep_latest(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One row per conversation, the latest fetched; most recently active first.

    Rows without an id are all kept: nothing says two of them are the same. The rows are
    chosen and ordered by their positions; the frame is taken once, at the end.
    """
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_frame()
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    positions = np.arange(len(combined))
    fetched_at = combined["fetched_at"]
    if not fetched_at.is_monotonic_increasing:  # pages are parsed in arrival order, so usually so
        positions = fetched_at.sort_values(kind="stable").index.to_numpy()
    ids = combined["conversation_id"].take(positions)
    has_id = ids.notna().to_numpy()
    latest = has_id & ~ids.duplicated(keep="last").to_numpy()
    kept = np.concatenate([positions[latest], positions[~has_id]])
    order = recency_order(combined["last_message_at"].take(kept), combined["conversation_id"].take(kept))
    return conform(combined.take(kept[order]).reset_index(drop=True))


def _retry_note(client: HttpClient) -> str | None:
    why = client.stats.retrying()
    return f"retrying: {why}" if why else None


def warn_unreadable(provider: Provider, tally: Tally, *, stacklevel: int = 2) -> None:
    """One warning per load naming the fields with unreadable values."""
    if tally.total:
        warnings.warn(
            f"{provider.name}: {tally.total} value(s) could not be read and became missing: "
            f"{tally.describe()}",
            DataQualityWarning, stacklevel=stacklevel + 1)


def _sweep_start(report: PullReport) -> pd.Timestamp:
    """Where a sweep after the pass of ``report`` starts: a clock margin before that pass began."""
    assert report.started_at is not None, "a pull sets started_at when it starts"
    return report.started_at - SWEEP_CLOCK_MARGIN


def _json_friendly(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with timestamps as ISO 8601 text."""
    return {key: value.isoformat() if isinstance(value, pd.Timestamp) else value
            for key, value in values.items()}
