"""What both providers' loaders share: settings at the edge, one pull, merging pulls."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from .._errors import AuthenticationError, DataQualityWarning
from .._http import HttpClient, RateLimit, RetryPolicy
from .._paging import OffsetPuller, Page, PullReport
from .._progress import progress_callback
from .._schema import PROVIDER, TIMESTAMP, conform, empty_frame
from .._values import Tally, field

# Pages in flight at once. A loop that fetches one page at a time is limited to one page per
# round trip; 16 in flight make a pull of thousands of pages about 16 times shorter, while
# staying a modest load for a server (the request budget, where a provider has one, still rules).
DEFAULT_MAX_WORKERS = 16
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ProviderSpec:
    """The fixed facts of one provider's list endpoint."""

    name: str
    env_key: str
    env_base_url: str
    default_base_url: str
    path: str
    default_rate_limit: RateLimit | None


def environment_key(spec: ProviderSpec) -> str | None:
    """The key in the provider's environment variable, stripped; ``None`` when unset or blank."""
    return os.environ.get(spec.env_key, "").strip() or None


def resolve_api_key(spec: ProviderSpec, api_key: str | None) -> str:
    """Explicit key, else the environment variable; none at all is an error."""
    key = api_key if api_key is not None else environment_key(spec)
    if not isinstance(key, str) or not key.strip():
        raise AuthenticationError(
            f"no API key: pass api_key= or set the {spec.env_key} environment variable",
            provider=spec.name)
    return key.strip()


def resolve_base_url(spec: ProviderSpec, base_url: str | None) -> str:
    """Explicit base URL, else the environment variable, else the production server."""
    url = base_url or os.environ.get(spec.env_base_url) or spec.default_base_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{spec.name}: base_url must be an http(s) server root such as "
                         f"{spec.default_base_url!r}, got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{spec.name}: base_url must not carry a query or fragment, got {url!r}")
    return url.rstrip("/")


def check_page_size(page_size: Any) -> int:
    """``page_size`` as an int in 1..100, else ``ValueError``."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
    return page_size


def check_max_workers(max_workers: Any) -> int:
    """``max_workers`` as a positive int; ``None`` means the default."""
    if max_workers is None:
        return DEFAULT_MAX_WORKERS
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a positive whole number, got {max_workers!r}")
    return max_workers


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    """``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def to_utc(value: Any, name: str) -> pd.Timestamp | None:
    """A datetime, Timestamp or ISO string as a UTC Timestamp; naive means UTC."""
    if value is None:
        return None
    if not isinstance(value, (str, datetime, pd.Timestamp)):
        raise ValueError(f"{name} must be a datetime, pandas Timestamp or ISO 8601 string, got {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: cannot read {value!r} as a date-time") from exc
    if stamp is pd.NaT:
        raise ValueError(f"{name}: cannot read {value!r} as a date-time")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def iso(stamp: pd.Timestamp) -> str:
    """``2026-09-29T01:00:00.123456Z``: the form both providers document."""
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def provider_column(name: str, length: int) -> pd.Categorical:
    """The ``provider`` column: ``name`` repeated, with both categories."""
    code = PROVIDER.categories.get_loc(name)
    return pd.Categorical.from_codes(np.full(length, code, dtype=np.int8), dtype=PROVIDER)


def drop_non_objects(records: Sequence[Any], fetched_at: Any, tally: Tally) -> tuple[list[dict], pd.Series]:
    """Keep the records that are JSON objects, with their arrival times; count the rest.

    Returns the kept records and their arrival times as a UTC timestamp column.
    """
    records = list(records)
    if isinstance(fetched_at, (pd.Timestamp, datetime, str)) or fetched_at is None:
        times = as_fetched_times([fetched_at]).repeat(len(records)).reset_index(drop=True)
    else:
        times = as_fetched_times(fetched_at)
        if len(times) != len(records):
            raise ValueError("fetched_at needs one value per record")
    if set(map(type, records)) <= {dict}:
        return records, times
    is_object = np.array([isinstance(record, dict) for record in records], dtype=bool)
    tally.add("row (not an object)", int((~is_object).sum()))
    kept = [record for record, keep in zip(records, is_object, strict=True) if keep]
    return kept, times[is_object].reset_index(drop=True)


def record_id(record: Any) -> str | None:
    """A record's ``id`` as text (integers written out); ``None`` when absent or unusable."""
    if not isinstance(record, dict):
        return None
    value = record.get("id")
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def continuity_key(conversation_id: Any, last_activity: Any) -> tuple[str, str] | None:
    """A row's identity for overlap checks: its id and its last activity, as sent.

    A conversation that got a new message between two reads has a new key, so it never
    vouches for the continuity of the pages it jumped between.
    """
    if conversation_id is None:
        return None
    if not isinstance(last_activity, (str, int, float, type(None))):
        last_activity = repr(last_activity)
    return (str(conversation_id), str(last_activity))


def continuity_keys(records: Sequence[Any], activity: Sequence[Any]) -> list[tuple[str, str] | None]:
    """:func:`continuity_key` of every record of a page, given each one's last activity."""
    ids = field(records, "id")
    if (all(type(value) is str for value in ids)
            and all(type(value) is str or value is None for value in activity)):
        # The usual page, text ids and text timestamps: the same keys, without a call per row.
        return [(identifier.strip(), str(moment)) if identifier.strip() else None
                for identifier, moment in zip(ids, activity, strict=True)]
    return [continuity_key(record_id(record), moment)
            for record, moment in zip(records, activity, strict=True)]


def as_fetched_times(times: Any) -> pd.Series:
    """Arrival times (a sequence of timestamps, or a datetime array) as a UTC timestamp column."""
    if isinstance(getattr(times, "dtype", None), pd.DatetimeTZDtype):
        return pd.Series(times).reset_index(drop=True).dt.tz_convert("UTC").astype(TIMESTAMP)
    return pd.Series(pd.to_datetime(pd.Series(list(times), dtype=object), utc=True)).astype(TIMESTAMP)


def make_client(spec: ProviderSpec, api_key: str, base_url: str, *, timeout: float, session: Any,
                max_workers: int, retry: RetryPolicy | None,
                rate_limit: RateLimit | None | str) -> HttpClient:
    """The HTTP client of one load: the provider's default budget unless told otherwise."""
    limit = spec.default_rate_limit if rate_limit == "default" else cast("RateLimit | None", rate_limit)
    return HttpClient(spec.name, base_url, api_key, timeout=timeout, session=session, retry=retry,
                      rate_limit=limit, pool_size=max_workers)


def pull_pages(
    client: HttpClient,
    spec: ProviderSpec,
    params: Mapping[str, Any],
    *,
    read_page: Callable[[Any, int, int], Page],
    parse: Callable[[list[Page]], pd.DataFrame],
    page_size: int,
    max_workers: int,
    progress: bool | None,
    label: str,
    is_last: Callable[[Page], bool] | None = None,
    speculate: bool = False,
) -> tuple[pd.DataFrame, PullReport]:
    """Every row of one filtered list, checked for continuity, parsed while pages arrive.

    Returns every row of every page fetched (a re-fetched page's rows too;
    :func:`keep_latest` keeps the latest of each conversation) and what the pull observed.
    ``speculate`` asks for the first pages at once (see :class:`OffsetPuller`); it is
    ignored when the client keeps a request budget, which guesses would waste.
    """

    def fetch(offset: int, limit: int) -> Page:
        query = {**params, "limit": limit, "offset": offset}
        return read_page(client.get_json(spec.path, query), offset, limit)

    parsed: list[pd.DataFrame] = []
    with progress_callback(progress, f"{spec.name}: {label}") as on_page:
        puller = OffsetPuller(fetch, provider=spec.name, page_size=page_size, max_workers=max_workers,
                              is_last=is_last, on_page=on_page, speculate=speculate and not client.paced,
                              digest=lambda pages: parsed.append(parse(pages)))
        puller.pull()
    parsed = [frame for frame in parsed if len(frame)]
    if not parsed:
        return empty_frame(), puller.report
    return (pd.concat(parsed, ignore_index=True) if len(parsed) > 1 else parsed[0]), puller.report


def keep_latest(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One row per conversation, the latest fetched; most recently active first.

    Rows without an id are all kept: nothing says two of them are the same.
    """
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_frame()
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    combined = combined.sort_values("fetched_at", kind="stable")
    has_id = combined["conversation_id"].notna()
    latest = combined[has_id].drop_duplicates("conversation_id", keep="last")
    combined = pd.concat([latest, combined[~has_id]]) if (~has_id).any() else latest
    ordered = combined.sort_values(["last_message_at", "conversation_id"], ascending=[False, True],
                                   na_position="last", kind="stable")
    return conform(ordered.reset_index(drop=True))


def warn_unreadable(spec: ProviderSpec, tally: Tally) -> None:
    """One warning per load naming the fields with unreadable values."""
    if tally.total:
        warnings.warn(
            f"{spec.name}: {tally.total} value(s) could not be read and became missing: {tally.describe()}",
            DataQualityWarning, stacklevel=3)


def provenance(spec: ProviderSpec, base_url: str, filters: Mapping[str, Any], client: HttpClient,
               reports: Mapping[str, PullReport], tally: Tally, started: pd.Timestamp, rows: int,
               extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a load did, for ``df.attrs["pull"]``: JSON-friendly, never the key."""
    return {
        "provider": spec.name,
        "base_url": base_url,
        "path": spec.path,
        "filters": {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in filters.items()
                    if v is not None},
        "started_at": started.isoformat(),
        "finished_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "rows": rows,
        **client.stats.as_dict(),
        "passes": {
            name: {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
                   for k, v in report.as_dict().items()}
            for name, report in reports.items()
        },
        "unreadable_values": dict(tally.counts),
        **(extra or {}),
    }


# Clocks of client and server may disagree; the sweep reaches this far before the pull.
SWEEP_CLOCK_MARGIN = pd.Timedelta(minutes=5)
MAX_SWEEP_ROUNDS = 3


def pull_complete(
    client: HttpClient,
    spec: ProviderSpec,
    params: Mapping[str, Any],
    *,
    read_page: Callable[[Any, int, int], Page],
    parse: Callable[[list[Page]], pd.DataFrame],
    sweep_params: Callable[[pd.Timestamp], Mapping[str, Any] | None],
    sweep_is_last: Callable[[pd.Timestamp], Callable[[Page], bool]] | None,
    page_size: int,
    max_workers: int,
    progress: bool | None,
    label: str,
) -> tuple[pd.DataFrame, dict[str, PullReport]]:
    """One filtered list, complete under live traffic: the chained pull, then sweeps.

    A conversation that gets a new message during the pull jumps to the top of the list,
    possibly above pages already read. The sweep re-reads what was active since the pull
    began (``sweep_params`` narrows the list, ``sweep_is_last`` stops reading down it),
    and repeats, bounded, while it keeps finding changes.

    Returns
    -------
    (frame, reports)
        Every row fetched (duplicates included, ``keep_latest`` merges them) and what
        each pass observed.
    """
    # The whole list is read to its end, so pages guessed ahead are rarely wasted; a sweep
    # usually needs one page and guesses nothing.
    first, report = pull_pages(client, spec, params, read_page=read_page, parse=parse, page_size=page_size,
                               max_workers=max_workers, progress=progress, label=label, speculate=True)
    frames = [first]
    reports = {label: report}
    seen = _versions(frames[0])
    since = report.started_at - SWEEP_CLOCK_MARGIN
    for round_number in range(1, MAX_SWEEP_ROUNDS + 1):
        narrowed = sweep_params(since)
        if narrowed is None:
            break
        swept, sweep_report = pull_pages(
            client, spec, narrowed, read_page=read_page, parse=parse, page_size=page_size,
            max_workers=max_workers, progress=progress, label=f"{label} (sweep)",
            is_last=sweep_is_last(since) if sweep_is_last else None)
        frames.append(swept)
        reports[f"{label} sweep {round_number}"] = sweep_report
        versions = _versions(swept)
        changed = {key for key in versions if key not in seen}
        seen |= versions
        if not changed:
            break
        since = sweep_report.started_at - SWEEP_CLOCK_MARGIN
    return pd.concat(frames, ignore_index=True), reports


def _versions(frame: pd.DataFrame) -> set[tuple[Any, Any]]:
    """Each row's (id, last activity); the activity as integer microseconds (fast to hash)."""
    activity = frame["last_message_at"].dt.tz_convert(None).to_numpy().view("i8")
    return set(zip(frame["conversation_id"].tolist(), activity.tolist(), strict=True))
