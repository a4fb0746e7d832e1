"""Briq (Karibu): ``GET {base}/v1/whatsapp/conversations`` into the unified schema.

The list arrives enveloped (``{success, data: {items, total, limit, offset}, errors,
request_id}``) or, as older documentation shows, bare (``{items, total, limit, offset}``);
both are read. ``success: false`` with HTTP 200 is an error. The list is ordered most
recently active first, which the sweep relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._deadline import DEFAULT_DEADLINE
from .._errors import ResponseFormatError
from .._http import JsonResponse, RateLimit, RetryPolicy
from .._limits import RECIPIENT_LENGTH, SEARCH_MAX_LENGTH
from .._paging import Page
from .._schema import empty_frame, frame_of
from .._values import (
    Tally,
    booleans,
    counts,
    field,
    fields,
    phones,
    positive,
    strings,
    timestamp_of,
    timestamps,
)
from ._common import append_text, continuity_keys, detail_texts, drop_non_objects, provider_column
from ._load import load
from ._provider import ListQuery, Params, Provider, PullOptions, check_choice, check_text, present

NAME = "briq"
STATUSES = ("all", "open", "unread")


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
        codes, messages = error_texts(body)
        raise ResponseFormatError("the provider answered success: false", provider=NAME,
                                  status=response.status, request_id=request_id, url=response.url,
                                  codes=codes, messages=messages)
    listing = body.get("data") if isinstance(body, dict) and "data" in body else body
    if not isinstance(listing, dict) or not isinstance(listing.get("items"), list):
        raise ResponseFormatError(
            "expected {success, data: {items, total, ...}} or a bare {items, total, limit, offset}",
            provider=NAME, status=response.status, request_id=request_id, url=response.url)
    records = listing["items"]
    total = listing.get("total")
    total = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
    keys = continuity_keys(records, field(records, "last_message_at"))
    return Page(offset, limit, records, keys, total, None, response.fetched_at)


def error_texts(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Error codes and messages of a Briq error body, in any of the shapes it sends."""
    codes: list[str] = []
    messages: list[str] = []
    error = body.get("error")
    if isinstance(error, dict):
        append_text(codes, error.get("code"))
        append_text(messages, error.get("message"))
    detail_texts(body.get("detail"), codes, messages)
    errors = body.get("errors")
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, dict):
            append_text(codes, item.get("code"))
            text = item.get("message")
            append_text(messages, f"{item['field']}: {text}" if item.get("field") and text else text)
    return codes, messages


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
    return frame_of({
        "provider": provider_column(NAME, len(records)),
        "conversation_id": strings(top["id"], tally, "id"),
        "contact_phone": phones(top["recipient_phone"], tally, "recipient_phone"),
        "contact_name": strings(top["contact_profile_name"], tally, "contact_profile_name"),
        "channel_id": strings(top["sender_id"], tally, "sender_id"),
        "is_active": booleans(top["is_active"], tally, "is_active"),
        "has_unread": positive(unread),
        "unread_count": unread,
        "last_message_at": timestamps(top["last_message_at"], tally, "last_message_at"),
        "window_open": booleans(window["open"], tally, "window.open"),
        "window_expires_at": timestamps(window["expires_at"], tally, "window.expires_at"),
        "fetched_at": times,
    }, len(records))


def _last_active(record: Any) -> pd.Timestamp | None:
    """One row's ``last_message_at``, read alone: a page's end tests look at one row of it, on a
    request thread that many others wait to run on (a column costs far more for one value)."""
    return timestamp_of(field([record], "last_message_at")[0])


@dataclass(frozen=True)
class OlderThan:
    """End test of a read from the top of Briq's newest-first list: the page reaches rows
    last active before ``since`` (or an empty page, or rows without a readable time)."""

    since: pd.Timestamp

    def __call__(self, page: Page) -> bool:
        if not page.records:
            return True
        oldest = _last_active(page.records[-1])  # the list is newest first
        return oldest is None or oldest < self.since


@dataclass(frozen=True)
class FirstActiveSince:
    """Whether a page's first row was last active at ``since`` or later: the rows above it
    in Briq's newest-first lists were then too."""

    since: pd.Timestamp

    def __call__(self, page: Page) -> bool:
        if not page.records:
            return False
        first = _last_active(page.records[0])
        return first is not None and first >= self.since


class Briq(Provider):
    """Briq's conversation list: enveloped or bare, newest first, no documented budget.

    A Briq row tells its own unread count. Error bodies are ``errors: [{code, message,
    field}]`` with a ``request_id``, the framework's 422 ``{"detail": [{loc, msg, type}]}``
    or ``{"detail": "..."}``, and ``{"error": {code, message, details}}``.
    """

    name = NAME
    env_key = "BRIQ_API_KEY"
    env_base_url = "BRIQ_BASE_URL"
    default_base_url = "https://karibu.briq.tz"
    path = "/v1/whatsapp/conversations"
    default_rate_limit = None  # Briq documents no number; 429s are honoured as they come

    read_page = staticmethod(read_page)
    parse = staticmethod(parse_conversations)

    def params(self, *, sender_id: str | None = None, recipient: str | None = None, status: str = "all",
               search: str | None = None) -> Params:
        """The loader's filters as Briq's query (the same names)."""
        check_choice("status", status, STATUSES)
        low, high = RECIPIENT_LENGTH
        if recipient is not None and (not isinstance(recipient, str) or not low <= len(recipient) <= high):
            raise ValueError(f"recipient must be a string of {low} to {high} characters; got {recipient!r}")
        if search is not None and (not isinstance(search, str) or len(search) > SEARCH_MAX_LENGTH):
            raise ValueError(f"search must be a string of at most {SEARCH_MAX_LENGTH} characters; "
                             f"got {search!r}")
        check_text("sender_id", sender_id)
        return present({"sender_id": sender_id, "recipient": recipient, "status": status, "search": search})

    def changed_since(self, params: Params, since: pd.Timestamp) -> ListQuery:
        """The same list from the top, up to the first page reaching rows older than ``since``."""
        return ListQuery(params, is_last=OlderThan(since))

    def unread_params(self, params: Params) -> Params:
        return {**params, "status": "unread"}

    def first_active_since(self, since: pd.Timestamp) -> FirstActiveSince:
        return FirstActiveSince(since)

    def unread_within(self, params: Params) -> bool:
        # status=unread replaces the status asked: "all" (the default) holds the unread ones;
        # "open" does not (an unread conversation's window may be closed).
        return params.get("status", "all") == "all"

    def still_listed(self, frame: pd.DataFrame, params: Params) -> pd.Series:
        # The unread list ignores status=open: only the open windows are in the list then.
        if params.get("status") == "open":
            return frame["window_open"].fillna(False)
        return super().still_listed(frame, params)

    error_texts = staticmethod(error_texts)

    def body_request_id(self, body: dict[str, Any]) -> str | None:
        return body["request_id"] if isinstance(body.get("request_id"), str) else None


BRIQ = Briq()


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
    deadline: float | None = DEFAULT_DEADLINE,
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
    page_size, max_workers, progress, timeout, session, retry, deadline
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
    PullTimeoutError
        The load did not finish within ``deadline``.

    Examples
    --------
    >>> import toolkit as tk
    >>> df = tk.load_briq(status="unread")  # doctest: +SKIP
    """
    return load(BRIQ, BRIQ.params(sender_id=sender_id, recipient=recipient, status=status, search=search),
                api_key=api_key, base_url=base_url,
                options=PullOptions(page_size=page_size, max_workers=max_workers, progress=progress,
                                    timeout=timeout, session=session, retry=retry, rate_limit=rate_limit,
                                    deadline=deadline))


__all__ = ["BRIQ", "Briq", "STATUSES", "parse_conversations", "load_briq"]
