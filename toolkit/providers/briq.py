"""Briq (Karibu): ``GET {base}/v1/whatsapp/conversations`` into the unified schema.

The list arrives enveloped (``{success, data: {items, total, limit, offset}, errors,
request_id}``) or, as older documentation shows, bare (``{items, total, limit, offset}``);
both are read. ``success: false`` with HTTP 200 is an error. The list is ordered most
recently active first, which the sweep relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .._errors import ResponseFormatError
from .._http import JsonResponse, RateLimit, RetryPolicy, read_error_body
from .._paging import Page, records_of
from .._schema import BOOLEAN, conform, empty_frame
from .._values import Tally, booleans, counts, field, fields, phones, strings, timestamps
from ._common import (
    ProviderSpec,
    check_choice,
    check_max_workers,
    check_page_size,
    continuity_keys,
    drop_non_objects,
    keep_latest,
    make_client,
    provenance,
    provider_column,
    pull_complete,
    resolve_api_key,
    resolve_base_url,
    warn_unreadable,
)

SPEC = ProviderSpec(
    name="briq",
    env_key="BRIQ_API_KEY",
    env_base_url="BRIQ_BASE_URL",
    default_base_url="https://karibu.briq.tz",
    path="/v1/whatsapp/conversations",
    default_rate_limit=None,  # Briq documents no number; 429s are honoured as they come
)

STATUSES = ("all", "open", "unread")
RECIPIENT_LENGTH = (4, 20)
SEARCH_MAX_LENGTH = 64


def read_page(response: JsonResponse, offset: int, limit: int) -> Page:
    """Read one list response, enveloped or bare, into a :class:`Page`.

    Raises
    ------
    ResponseFormatError
        ``success: false``, or neither envelope shape.
    """
    body = response.payload
    request_id = response.request_id
    if isinstance(body, dict) and isinstance(body.get("request_id"), str):
        request_id = request_id or body["request_id"]
    if isinstance(body, dict) and body.get("success") is False:
        codes, messages = read_error_body(body)
        raise ResponseFormatError("the provider answered success: false", provider=SPEC.name,
                                  status=response.status, request_id=request_id, url=response.url,
                                  codes=codes, messages=messages)
    listing = body.get("data") if isinstance(body, dict) and "data" in body else body
    if not isinstance(listing, dict) or not isinstance(listing.get("items"), list):
        raise ResponseFormatError(
            "expected {success, data: {items, total, ...}} or a bare {items, total, limit, offset}",
            provider=SPEC.name, status=response.status, request_id=request_id, url=response.url)
    records = listing["items"]
    total = listing.get("total")
    total = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
    keys = continuity_keys(records, field(records, "last_message_at"))
    return Page(offset, limit, records, keys, total, None, response.fetched_at)


def parse_conversations(records: Sequence[Any], fetched_at: Any, tally: Tally | None = None) -> pd.DataFrame:
    """Raw Briq conversations to a frame in the unified schema.

    Pure: no network.

    Parameters
    ----------
    records : sequence
        Items of the list; anything that is not a JSON object is dropped and counted.
    fetched_at : Timestamp or sequence of Timestamp
        Arrival time of the response carrying each record.
    tally : Tally, optional
        Receives counts of unreadable values.

    Returns
    -------
    pandas.DataFrame
        The unified columns (see :data:`toolkit.SCHEMA`); ``is_human_takeover`` is
        missing (Briq has no such notion) and ``has_unread`` is ``unread_count > 0``.

    Examples
    --------
    >>> frame = parse_conversations([{"id": "c1", "unread_count": 2}], pd.Timestamp("2026-01-01", tz="UTC"))
    >>> bool(frame.loc[0, "has_unread"])
    True
    """
    tally = tally if tally is not None else Tally()
    records, times = drop_non_objects(records, fetched_at, tally)
    if not records:
        return empty_frame()
    top = fields(records, ["id", "recipient_phone", "contact_profile_name", "sender_id", "is_active",
                           "unread_count", "last_message_at", "window"])
    window = fields(top["window"], ["open", "expires_at"])
    unread = counts(top["unread_count"], tally, "unread_count")
    frame = pd.DataFrame({
        "provider": provider_column(SPEC.name, len(records)),
        "conversation_id": strings(top["id"], tally, "id"),
        "contact_phone": phones(top["recipient_phone"], tally, "recipient_phone"),
        "contact_name": strings(top["contact_profile_name"], tally, "contact_profile_name"),
        "channel_id": strings(top["sender_id"], tally, "sender_id"),
        "is_active": booleans(top["is_active"], tally, "is_active"),
        "has_unread": (unread > 0).astype(BOOLEAN),
        "unread_count": unread,
        "last_message_at": timestamps(top["last_message_at"], tally, "last_message_at"),
        "window_open": booleans(window["open"], tally, "window.open"),
        "window_expires_at": timestamps(window["expires_at"], tally, "window.expires_at"),
        "fetched_at": times.array,
    })
    return conform(frame)


def _older_than(since: pd.Timestamp) -> Callable[[Page], bool]:
    """Whether a page reaches rows last active before ``since`` (the list is newest first)."""

    def is_last(page: Page) -> bool:
        if not page.records:
            return True
        times = timestamps(field(page.records, "last_message_at"), Tally(), "last_message_at")
        oldest = times.iloc[-1]
        return bool(pd.isna(oldest) or oldest < since)

    return is_last


def load_briq(
    api_key: str | None = None,
    base_url: str | None = None,
    *,
    sender_id: str | None = None,
    recipient: str | None = None,
    status: str = "all",
    search: str | None = None,
    page_size: int = 100,
    max_workers: int | None = None,
    progress: bool | None = None,
    timeout: float = 30.0,
    session: Any = None,
    retry: RetryPolicy | None = None,
    rate_limit: RateLimit | None | str = "default",
) -> pd.DataFrame:
    """Every Briq conversation matching the filters, once, in the unified schema.

    Parameters
    ----------
    api_key : str, optional
        Defaults to ``BRIQ_API_KEY``.
    base_url : str, optional
        Server root; defaults to ``BRIQ_BASE_URL``, else ``https://karibu.briq.tz``.
    sender_id : str, optional
        Sent as ``sender_id``.
    recipient : str, optional
        An exact number, optional leading ``+``, 4 to 20 characters.
    status : {"all", "open", "unread"}, default "all"
    search : str, optional
        At most 64 characters.
    page_size, max_workers, progress, timeout, session, retry
        As for :func:`toolkit.load_wassist`.
    rate_limit : RateLimit or None, default "default"
        Client-side budget; Briq documents none, so by default there is none.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`toolkit.SCHEMA`, most recently active first;
        ``df.attrs["pull"]`` records what the pull did.

    Raises
    ------
    ValueError
        For an argument the API document does not allow; no request is sent.
    AuthenticationError
        No key, or the key is refused (401, or 403 for a key not linked to a workspace).
    ApiError, ResponseFormatError, PaginationError

    Examples
    --------
    >>> import toolkit as tk
    >>> df = tk.load_briq(status="unread")  # doctest: +SKIP
    """
    check_choice("status", status, STATUSES)
    if recipient is not None:
        if not isinstance(recipient, str) or not RECIPIENT_LENGTH[0] <= len(recipient) <= RECIPIENT_LENGTH[1]:
            raise ValueError(f"recipient must be a string of {RECIPIENT_LENGTH[0]} to {RECIPIENT_LENGTH[1]} "
                             f"characters; got {recipient!r}")
    if search is not None and (not isinstance(search, str) or len(search) > SEARCH_MAX_LENGTH):
        raise ValueError(f"search must be a string of at most {SEARCH_MAX_LENGTH} characters; got {search!r}")
    if sender_id is not None and (not isinstance(sender_id, str) or not sender_id.strip()):
        raise ValueError(f"sender_id must be a non-empty string; got {sender_id!r}")
    page_size = check_page_size(page_size)
    workers = check_max_workers(max_workers)
    key = resolve_api_key(SPEC, api_key)
    base = resolve_base_url(SPEC, base_url)

    started = pd.Timestamp.now(tz="UTC")
    filters = {"sender_id": sender_id, "recipient": recipient, "status": status, "search": search}
    params = {name: value for name, value in filters.items() if value is not None}
    tally = Tally()

    def parse(pages: list[Page]) -> pd.DataFrame:
        return parse_conversations(*records_of(pages), tally)

    client = make_client(SPEC, key, base, timeout=timeout, session=session, max_workers=workers,
                         retry=retry, rate_limit=rate_limit)
    try:
        rows, reports = pull_complete(
            client, SPEC, params, read_page=read_page, parse=parse,
            sweep_params=lambda since: params, sweep_is_last=_older_than,
            page_size=page_size, max_workers=workers, progress=progress, label="conversations")
    finally:
        client.close()
    frame = keep_latest([rows])
    warn_unreadable(SPEC, tally)
    frame.attrs["pull"] = provenance(SPEC, base, params, client, reports, tally, started, len(frame))
    return frame


__all__ = ["SPEC", "STATUSES", "read_page", "parse_conversations", "load_briq"]
