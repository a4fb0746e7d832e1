"""Each provider's list endpoint as a pure function: query parameters and a clock in, status and body out.

No HTTP and no faults here: :mod:`toolkit.sandbox._server` parses the request, asks the
fault injector, calls the endpoint and writes its answer. The data comes from an
:class:`Inbox` (the :class:`~toolkit.sandbox.Sandbox` is one), so an endpoint can be called
directly in a test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from ._data import Conversation
from ._render import briq_item, wassist_item

WASSIST_PATH = "/api/v1/conversations/"
BRIQ_PATH = "/v1/whatsapp/conversations"

#: What an endpoint answers: the HTTP status and the JSON body.
Answer = tuple[int, Any]


class Inbox(Protocol):
    """Where an endpoint finds the conversations a request lists."""

    def matching(self, provider: str, params: dict[str, str], depends_on_clock: bool,
                 keep: Callable[[Conversation], bool], *,
                 active_after: datetime | None = None) -> list[Conversation]:
        """The conversations ``keep`` accepts, most recently active first.

        ``keep`` accepts only conversations active after ``active_after`` when it is given.
        """
        ...


def wassist_conversations(params: dict[str, str], now: datetime, *, inbox: Inbox, base_url: str,
                          documented: bool = False, max_page_size: int | None = None,
                          hostile: str | None = None, elsewhere: str = "") -> Answer:
    """``GET /api/v1/conversations/``: a limit/offset page with ``count``, ``next`` and ``previous``.

    Parameters
    ----------
    params : dict
        The query parameters (the last value of each).
    now : datetime
        The server's clock: window states and remaining times are as of it.
    inbox : Inbox
        The conversations.
    base_url : str
        The server root the ``next`` and ``previous`` links start with.
    documented : bool
        Values typed as the OpenAPI document types them (strings), not as live clients see them.
    max_page_size : int, optional
        Serve at most this many rows whatever ``limit`` asks.
    hostile : str, optional
        A lie to tell (see :class:`~toolkit.sandbox.SandboxConfig`).
    elsewhere : str
        Where ``next-elsewhere`` links point.

    Returns
    -------
    (status, body)
        200 and the page, or 400 and Wassist's error body for a bad parameter.
    """
    try:
        limit = _bounded_int(params.get("limit", "20"), 1, None, "limit")
        offset = _bounded_int(params.get("offset", "0"), 0, None, "offset")
        status = params.get("status")
        if status is not None and status not in ("active", "closed"):
            raise _BadParameter(
                "status", f"Select a valid choice. {status} is not one of the available choices.")
        has_unread = _boolean(params.get("hasUnread"), "hasUnread")
        after = _timestamp(params.get("lastMessageAfter"), "lastMessageAfter")
        before = _timestamp(params.get("lastMessageBefore"), "lastMessageBefore")
    except _BadParameter as bad:
        return 400, {"error": f"{bad.name}: {bad.message}", "code": "invalid_parameter"}
    limit = min(limit, 100)
    if max_page_size:
        limit = min(limit, max_page_size)
    matching = inbox.matching("wassist", params, status is not None, lambda c: (
        (params.get("agent") is None or c.channel_id == params["agent"])
        and (params.get("contact") is None or _contact_matches(c, params["contact"]))
        and (has_unread is None or (c.unread_count > 0) == has_unread)
        and (status is None or c.window_open(now) == (status == "active"))
        and (after is None or (c.last_message_at is not None and c.last_message_at > after))
        and (before is None or (c.last_message_at is not None and c.last_message_at < before))),
        active_after=after)
    served, count = _served_page(matching, offset, limit, hostile)
    results = [wassist_item(c, now, documented=documented) for c in served]
    base = f"{elsewhere if hostile == 'next-elsewhere' else base_url}{WASSIST_PATH}"
    following = {**params, "limit": str(limit), "offset": str(offset + limit)}
    preceding = {**params, "limit": str(limit), "offset": str(max(0, offset - limit))}
    return 200, {
        "count": count,
        "next": f"{base}?{urlencode(following)}" if offset + limit < count else None,
        "previous": f"{base}?{urlencode(preceding)}" if offset > 0 else None,
        "results": results,
    }


def briq_conversations(params: dict[str, str], now: datetime, *, inbox: Inbox, request_id: str,
                       bare: bool = False, max_page_size: int | None = None,
                       hostile: str | None = None) -> Answer:
    """``GET /v1/whatsapp/conversations``: a page inside Briq's ``{success, data}`` envelope.

    Parameters
    ----------
    params, now, inbox, max_page_size, hostile
        As for :func:`wassist_conversations`.
    request_id : str
        The id the envelope carries.
    bare : bool
        The listing without the envelope.

    Returns
    -------
    (status, body)
        200 and the page, or 422 and the framework's un-enveloped ``detail`` list for bad
        parameters.
    """
    problems = []
    try:
        limit = _bounded_int(params.get("limit", "50"), 1, 100, "limit")
    except _BadParameter as bad:
        problems.append(bad)
        limit = 50
    try:
        offset = _bounded_int(params.get("offset", "0"), 0, None, "offset")
    except _BadParameter as bad:
        problems.append(bad)
        offset = 0
    status = params.get("status", "all")
    if status not in ("all", "open", "unread"):
        problems.append(_BadParameter("status", "Input should be 'all', 'open' or 'unread'", "enum"))
    recipient = params.get("recipient")
    if recipient is not None and not 4 <= len(recipient) <= 20:
        problems.append(_BadParameter("recipient", "String should have between 4 and 20 characters",
                                      "string_too_short" if len(recipient) < 4 else "string_too_long"))
    search = params.get("search")
    if search is not None and len(search) > 64:
        problems.append(_BadParameter("search", "String should have at most 64 characters",
                                      "string_too_long"))
    if problems:
        # Bad query parameters come back un-enveloped, from the framework.
        return 422, {"detail": [{"loc": ["query", p.name], "msg": p.message, "type": p.kind}
                                for p in problems]}
    if max_page_size:
        limit = min(limit, max_page_size)
    wanted_phone = recipient.lstrip("+") if recipient else None
    # status=all is no filter at all: the whole ordered list serves it.
    effective = {name: value for name, value in params.items() if (name, value) != ("status", "all")}
    matching = inbox.matching("briq", effective, status == "open", lambda c: (
        (params.get("sender_id") is None or c.channel_id == params["sender_id"])
        and (wanted_phone is None or c.phone.lstrip("+") == wanted_phone)
        and (status == "all" or (status == "open" and c.window_open(now))
             or (status == "unread" and c.unread_count > 0))
        and (search is None or _contact_matches(c, search))))
    served, total = _served_page(matching, offset, limit, hostile)
    listing = {"items": [briq_item(c, now) for c in served], "total": total, "limit": limit, "offset": offset}
    if bare:
        return 200, listing
    return 200, {"success": True, "data": listing, "errors": None, "request_id": request_id}


def refused(provider: str, key_accepted: bool, unlinked: bool, request_id: str) -> Answer | None:
    """The provider's answer to a key it does not take; ``None`` for a key it takes.

    ``unlinked`` is a Briq key that exists but belongs to no workspace (403).
    """
    if provider == "briq" and unlinked:
        return 403, briq_error("WORKSPACE_REQUIRED", "This API key is not linked to a workspace", request_id)
    if key_accepted:
        return None
    if provider == "wassist":
        return 401, {"error": "Invalid or missing API key", "code": "invalid_api_key"}
    return 401, briq_error("UNAUTHORIZED", "Invalid or missing API key", request_id)


def briq_error(code: str, message: str, request_id: str) -> Any:
    """Briq's error envelope."""
    return {"success": False, "data": None, "request_id": request_id,
            "errors": [{"code": code, "message": message, "field": None}]}


def _served_page(matching: list[Conversation], offset: int, limit: int,
                 hostile: str | None) -> tuple[list[Conversation], int]:
    """The conversations a page serves and the total it claims, honest or not."""
    if hostile == "same-page":
        return matching[:limit], len(matching)
    if hostile == "oversized-pages":
        return matching[offset:offset + 3 * limit], len(matching)
    if hostile == "phantom-total":
        return (matching[:limit] if offset == 0 else []), 10_000_000
    return matching[offset:offset + limit], len(matching)


class _BadParameter(Exception):
    def __init__(self, name: str, message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.name, self.message, self.kind = name, message, kind


def _bounded_int(text: str, low: int, high: int | None, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _BadParameter(name, "Input should be a valid integer", "int_parsing") from None
    if value < low:
        raise _BadParameter(name, f"Input should be greater than or equal to {low}", "greater_than_equal")
    if high is not None and value > high:
        raise _BadParameter(name, f"Input should be less than or equal to {high}", "less_than_equal")
    return value


def _boolean(text: str | None, name: str) -> bool | None:
    if text is None:
        return None
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise _BadParameter(name, "Must be a valid boolean.")


def _timestamp(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _BadParameter(name, "Enter a valid date/time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _contact_matches(conversation: Conversation, needle: str) -> bool:
    needle_lower = needle.lower()
    digits = needle.lstrip("+")
    return bool((digits and digits in conversation.phone) or (
        conversation.name is not None and needle_lower in conversation.name.lower()))
