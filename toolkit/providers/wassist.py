"""Wassist: ``GET {base}/api/v1/conversations/`` into the unified schema.

The document types ``activeAgent``, ``chatWindowRemainingTime``, ``lastMessage``,
``isHumanTakeover`` and ``active`` as strings; live clients see objects, numbers and
booleans. Both are read. A Wassist conversation has no unread count: the loader pulls the
``hasUnread=true`` list as well and marks exactly those conversations unread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from .._deadline import DEFAULT_DEADLINE
from .._errors import ResponseFormatError
from .._frames import contains, utc_instant
from .._http import JsonResponse, RateLimit, RetryPolicy
from .._paging import Page
from .._schema import BOOLEAN, TIMESTAMP, conform, empty_frame, frame_of
from .._values import (
    WHITESPACE,
    Tally,
    booleans,
    field,
    fields,
    phones,
    plain_text,
    seconds,
    strings,
    timestamps,
)
from ._common import append_text, continuity_keys, detail_texts, drop_non_objects, iso, provider_column
from ._load import load
from ._provider import ListQuery, Params, Provider, PullOptions, check_choice, check_text, present

NAME = "wassist"
STATUSES = ("active", "closed")
# Windows longer than this cannot be real (WhatsApp's is 24 hours); they also keep the
# expiry arithmetic far from timestamp overflow.
_MAX_WINDOW_SECONDS = 366 * 24 * 3600
_OBJECT_STARTS = frozenset("{ \t\n\r\f\v")


def read_page(response: JsonResponse, offset: int, limit: int) -> Page:
    """Read one list response (Django REST Framework limit/offset envelope) into a :class:`Page`.

    Raises
    ------
    ResponseFormatError
        When the body is not ``{count, results, ...}``.
    """
    body = response.payload
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ResponseFormatError(
            "expected a JSON object with a 'results' list (count/next/previous/results)",
            provider=NAME, status=response.status, request_id=response.request_id, url=response.url)
    records = body["results"]
    total = _whole_number(body.get("count"))
    has_next = False if ("next" in body and body.get("next") is None) else None
    activity = _last_message_values(records)
    keys = continuity_keys(records, activity)
    return Page(offset, limit, records, keys, total, has_next, response.fetched_at)


def parse_conversations(records: Sequence[Any], fetched_at: Any, tally: Tally | None = None) -> pd.DataFrame:
    """Raw Wassist conversations to a frame in the unified schema.

    Pure: no network. ``has_unread`` is left missing; the loader fills it.

    Parameters
    ----------
    records : sequence
        Items of ``results``, in documented (string) or live (typed) form; anything that
        is not a JSON object is dropped and counted.
    fetched_at : Timestamp or sequence of Timestamp
        When the response carrying each record arrived (one value for all, or one per
        record). ``window_expires_at`` is ``fetched_at + chatWindowRemainingTime``.
    tally : Tally, optional
        Receives counts of unreadable values.

    Returns
    -------
    pandas.DataFrame
        The unified columns (see :data:`toolkit.SCHEMA`), one row per record.

    Examples
    --------
    >>> frame = parse_conversations([{"id": "c1", "active": "true"}], pd.Timestamp("2026-01-01", tz="UTC"))
    >>> frame.loc[0, "is_active"]
    np.True_
    """
    tally = tally if tally is not None else Tally()
    records, times = drop_non_objects(records, fetched_at, tally)
    if not records:
        return empty_frame()
    fetched = times
    top = fields(records, ["id", "contact", "activeAgent", "chatWindowRemainingTime", "lastMessage",
                           "isHumanTakeover", "active"])
    contact = fields(top["contact"], ["phoneNumber", "name"])
    agent_ids = _inner(top["activeAgent"], "id")  # also turns agents sent as JSON text into objects
    remaining_values = top["chatWindowRemainingTime"]
    remaining = seconds(remaining_values, tally, "chatWindowRemainingTime")
    absent = np.fromiter((value is None for value in remaining_values), dtype=bool, count=len(records))
    too_long = remaining > _MAX_WINDOW_SECONDS
    tally.add("chatWindowRemainingTime", int(too_long.sum()))
    known = ~np.isnan(remaining)
    is_open = known & (remaining > 0)
    # Absent means closed (what live clients assume); unreadable stays unknown.
    window_open = pd.Series(is_open, dtype=BOOLEAN).mask(~(known | absent))
    offsets = pd.to_timedelta(np.where(is_open & ~too_long, remaining, np.nan), unit="s")
    expires = (fetched + offsets).astype(TIMESTAMP)

    return frame_of({
        "provider": provider_column(NAME, len(records)),
        "conversation_id": strings(top["id"], tally, "id"),
        "contact_phone": phones(contact["phoneNumber"], tally, "contact.phoneNumber"),
        "contact_name": strings(contact["name"], tally, "contact.name"),
        "channel_id": strings(agent_ids, tally, "activeAgent"),
        "is_active": booleans(top["active"], tally, "active"),
        "is_human_takeover": booleans(top["isHumanTakeover"], tally, "isHumanTakeover"),
        "last_message_at": timestamps(_inner(top["lastMessage"], "createdAt", "created_at"), tally,
                                      "lastMessage"),
        "window_open": window_open.array,
        "window_expires_at": expires.array,
        "fetched_at": fetched.array,
        "channel_name": strings(_agent_names(top["activeAgent"]), tally, "activeAgent.name"),
    }, len(records))


def _agent_names(agents: list[Any]) -> list[Any]:
    """``activeAgent.name`` where the agent came as an object (live shape); ``None`` for a bare id."""
    return [agent.get("name") if type(agent) is dict else None for agent in agents]


def _last_message_values(records: Sequence[Any]) -> list[Any]:
    """``lastMessage.createdAt``, or ``lastMessage`` itself when it is a timestamp."""
    return _inner(field(records, "lastMessage"), "createdAt", "created_at")


def _inner(values: list[Any], key: str, alternative: str | None = None) -> list[Any]:
    """``value[key]`` for an object (also one sent as JSON text); other values unchanged."""
    text = plain_text(values)
    if text is not None and not pc.any(
            pc.starts_with(pc.utf8_ltrim(text, characters=WHITESPACE), "{")).as_py():
        return values  # all text, none of it an object (the documented encoding): nothing to unwrap
    # JSON text of an object is rare: find it in one pass over the strings only.
    for index, value in enumerate(values):
        if type(value) is str and value[:1] in _OBJECT_STARTS and value.lstrip().startswith("{"):
            values[index] = _json_object(value) or value
    if alternative is None:
        return [value.get(key) if type(value) is dict else value for value in values]
    return [value.get(key, value.get(alternative)) if type(value) is dict else value for value in values]


def _json_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _moment(value: Any, name: str) -> str | None:
    """A moment the user gave, as Wassist's query text; ``None`` stays ``None``."""
    return None if value is None else iso(utc_instant(value, name))


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class Wassist(Provider):
    """Wassist's conversation list: a Django REST Framework limit/offset list, 100 requests a minute.

    A Wassist conversation has no unread count: the ``hasUnread=true`` list is read too and
    marks exactly its conversations unread. Error bodies are ``{"error", "code"}``, also
    ``detail`` or ``message``; a 429 body may carry ``retry_after`` (seconds).
    """

    name = NAME
    env_key = "WASSIST_API_KEY"
    env_base_url = "WASSIST_BASE_URL"
    default_base_url = "https://backend.wassist.app"
    path = "/api/v1/conversations/"
    default_rate_limit = RateLimit(100, 60.0)
    # Wassist's "active" is an inbound message in the last 24 hours: the window itself.
    active_is_window = True
    moved_by_activity = ("status", "lastMessageBefore", "hasUnread")

    read_page = staticmethod(read_page)
    parse = staticmethod(parse_conversations)

    def params(self, *, agent: str | None = None, contact: str | None = None, has_unread: bool | None = None,
               last_message_after: Any = None, last_message_before: Any = None,
               status: str | None = None) -> Params:
        """The loader's filters as Wassist's query (``hasUnread``, ``lastMessageAfter``, ...)."""
        if status is not None:
            check_choice("status", status, STATUSES)
        if has_unread is not None and not isinstance(has_unread, bool):
            raise ValueError(f"has_unread must be True, False or None; got {has_unread!r}")
        check_text("agent", agent)
        check_text("contact", contact)
        after = _moment(last_message_after, "last_message_after")
        before = _moment(last_message_before, "last_message_before")
        if after is not None and before is not None and pd.Timestamp(after) >= pd.Timestamp(before):
            # It would match nothing, and the empty frame would read as a quiet inbox.
            raise ValueError(f"last_message_after ({after}) must be earlier than last_message_before "
                             f"({before}): the range is empty")
        return present({"agent": agent, "contact": contact,
                        "hasUnread": None if has_unread is None else str(has_unread).lower(),
                        "lastMessageAfter": after, "lastMessageBefore": before, "status": status})

    def changed_since(self, params: Params, since: pd.Timestamp) -> ListQuery | None:
        """The same filters with ``lastMessageAfter`` moved up to ``since``."""
        before = params.get("lastMessageBefore")
        if before is not None and pd.Timestamp(before) < since:
            return None  # nothing active since then can match
        after = params.get("lastMessageAfter")
        start = since if after is None else max(since, pd.Timestamp(after))
        return ListQuery({**params, "lastMessageAfter": iso(start)})

    def refresh_activity(self, params: Params, since: pd.Timestamp) -> ListQuery | None:
        # Only the conversations without unread messages: the unread list holds the others,
        # and a conversation that gets a message from the customer usually has some.
        changed = self.changed_since(params, since)
        return None if changed is None else ListQuery({**changed.params, "hasUnread": "false"})

    def unread_params(self, params: Params) -> Params:
        return {**params, "hasUnread": "true"}

    def still_listed(self, frame: pd.DataFrame, params: Params) -> pd.Series:
        keep = pd.Series(True, index=frame.index)
        if "status" in params:
            keep &= frame["is_active"].eq(params["status"] == "active").fillna(False)
        if "lastMessageBefore" in params:
            keep &= (frame["last_message_at"] < pd.Timestamp(params["lastMessageBefore"])).fillna(False)
        if params.get("hasUnread") == "false":
            keep &= ~frame["has_unread"].fillna(False)
        return keep

    def needs_unread_pass(self, params: Params) -> bool:
        return "hasUnread" not in params

    def mark_unread(self, frame: pd.DataFrame, params: Params,
                    unread_ids: Iterable[str] | None) -> pd.DataFrame:
        # A new frame (the others' columns shared): the caller may still need the frame as it was.
        if unread_ids is None:
            marks = pd.array([params["hasUnread"] == "true"] * len(frame), dtype=BOOLEAN)
        else:
            marks = pd.array(contains(frame["conversation_id"], unread_ids), dtype=BOOLEAN)
        return conform(frame.assign(has_unread=pd.Series(marks, index=frame.index)))

    def error_texts(self, body: dict[str, Any]) -> tuple[list[str], list[str]]:
        codes: list[str] = []
        messages: list[str] = []
        append_text(messages, body.get("error"))
        append_text(codes, body.get("code"))
        append_text(messages, body.get("message"))
        detail_texts(body.get("detail"), codes, messages)
        return codes, messages

    def retry_hint(self, body: dict[str, Any]) -> float | None:
        """``retry_after`` (or ``retryAfter``) seconds, as a number or a numeric text."""
        for key in ("retry_after", "retryAfter"):
            value = body.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return max(0.0, float(value))
            if isinstance(value, str):
                try:
                    return max(0.0, float(value))
                except ValueError:
                    pass
        return None


WASSIST = Wassist()


def load_wassist(
    api_key: str | None = None,
    base_url: str | None = None,
    *,
    agent: str | None = None,
    contact: str | None = None,
    has_unread: bool | None = None,
    last_message_after: Any = None,
    last_message_before: Any = None,
    status: str | None = None,
    page_size: int = 100,
    max_workers: int | None = None,
    progress: bool | None = None,
    timeout: float = 30.0,
    session: Any = None,
    retry: RetryPolicy | None = None,
    rate_limit: RateLimit | None | str = "default",
    deadline: float | None = DEFAULT_DEADLINE,
) -> pd.DataFrame:
    """Every Wassist conversation matching the filters, once, in the unified schema.

    Parameters
    ----------
    api_key : str, optional
        Defaults to ``WASSIST_API_KEY``.
    base_url : str, optional
        Server root; defaults to ``WASSIST_BASE_URL``, else ``https://backend.wassist.app``.
    agent, contact : str, optional
        Sent as ``agent`` and ``contact``.
    has_unread : bool, optional
        Sent as ``hasUnread``. When not given, the ``hasUnread=true`` list is pulled too
        and ``has_unread`` is true exactly for the conversations in it.
    last_message_after, last_message_before : datetime, Timestamp or str, optional
        Sent as ``lastMessageAfter`` / ``lastMessageBefore``; naive means UTC.
    status : {"active", "closed"}, optional
    page_size : int, default 100
        Rows asked per request, 1..100.
    max_workers : int, optional
        Pages fetched at once (default 16).
    progress : bool, optional
        Progress bar; by default only when a terminal or notebook is watching.
    timeout : float, default 30
        Seconds for connecting and for each read.
    session : requests.Session, optional
        Used as given, e.g. for proxies.
    retry : RetryPolicy, optional
        Attempts and backoff (default: 10 attempts, 0.25 s doubling to 8 s, full jitter).
    rate_limit : RateLimit or None, default "default"
        Client-side budget; Wassist documents 100 requests per minute per key.
    deadline : float or None, default 3600
        Seconds the whole load may take (every pass, retry and wait included); past it
        :class:`~toolkit.PullTimeoutError` is raised, whatever the server does. ``None``:
        no limit.

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
        No key, or the key is refused (401/403).
    ApiError, ResponseFormatError, PaginationError
    PullTimeoutError
        The load did not finish within ``deadline``.

    Examples
    --------
    >>> import toolkit as tk
    >>> df = tk.load_wassist(status="active")  # doctest: +SKIP
    """
    return load(WASSIST, WASSIST.params(agent=agent, contact=contact, has_unread=has_unread,
                                        last_message_after=last_message_after,
                                        last_message_before=last_message_before, status=status),
                api_key=api_key, base_url=base_url,
                options=PullOptions(page_size=page_size, max_workers=max_workers, progress=progress,
                                    timeout=timeout, session=session, retry=retry, rate_limit=rate_limit,
                                    deadline=deadline))


__all__ = ["WASSIST", "Wassist", "STATUSES", "parse_conversations", "load_wassist"]
