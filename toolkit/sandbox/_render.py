"""Sandbox conversations as each provider's JSON, documented or live shape."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from ._data import Conversation


# Formatting dominates the cost of a page; a conversation's times repeat on every page
# that shows it, so each is formatted once (the sandbox must not be what a benchmark measures).
@lru_cache(maxsize=1 << 19)
def iso(moment: datetime | None, digits: int = 6) -> str | None:
    """UTC ``...Z`` with ``digits`` (0, 3 or 6) fractional digits, as live servers vary."""
    if moment is None:
        return None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + "Z"


def warm(conversation: Conversation) -> None:
    """Format a conversation's times ahead of its first page (see :func:`iso`)."""
    digits = _digits_for(conversation)
    for moment in (conversation.last_message_at, conversation.created_at, conversation.window_expires_at()):
        iso(moment, digits)


def _digits_for(conversation: Conversation) -> int:
    return (0, 3, 6)[int(conversation.id[:2], 16) % 3]


def wassist_item(conversation: Conversation, now: datetime, *, documented: bool) -> dict[str, Any]:
    """One Wassist conversation; ``documented`` gives the OpenAPI document's string types."""
    expires = conversation.window_expires_at()
    remaining = max(0, int((expires - now).total_seconds())) if expires is not None else 0
    digits = _digits_for(conversation)
    created = iso(conversation.last_message_at, digits)
    if documented:
        return {
            "id": conversation.id,
            "contact": {"phoneNumber": conversation.phone, "name": conversation.name},
            "activeAgent": conversation.channel_id,
            "chatWindowRemainingTime": str(remaining),
            "lastMessage": created or "",
            "isHumanTakeover": "true" if conversation.human_takeover else "false",
            "active": "true" if conversation.window_open(now) else "false",
        }
    return {
        "id": conversation.id,
        "contact": {"id": "c-" + conversation.id[:8], "phoneNumber": conversation.phone,
                    "name": conversation.name},
        "activeAgent": {"id": conversation.channel_id, "name": conversation.channel_name},
        "whatsappNumber": {"id": "n-1", "number": "447700900100", "isSandbox": True},
        "chatWindowRemainingTime": remaining,
        "lastMessage": None if created is None else {
            "type": "text", "body": conversation.last_body, "createdAt": created,
            "role": conversation.last_role},
        "isHumanTakeover": conversation.human_takeover,
        "active": conversation.window_open(now),
        "routing": "human" if conversation.human_takeover else "agent",
        "webhookId": None,
        "needsReview": False,
        "supportHandoffs": [],
    }


def briq_item(conversation: Conversation, now: datetime) -> dict[str, Any]:
    """One Briq conversation as the document and live clients show it."""
    expires = conversation.window_expires_at()
    is_open = conversation.window_open(now)
    digits = _digits_for(conversation)
    # Closed windows carry a past time or null: clients must trust ``open``.
    shown_expiry = iso(expires, digits) if (is_open or digits != 3) else None
    return {
        "id": conversation.id,
        "sender_id": conversation.channel_id,
        "recipient_phone": conversation.phone,
        "is_active": conversation.is_active,
        "unread_count": conversation.unread_count,
        "contact_profile_name": conversation.name,
        "last_message_at": iso(conversation.last_message_at, digits),
        "window": {"open": is_open, "expires_at": shown_expiry},
        "created_at": iso(conversation.created_at, digits),
        "updated_at": iso(conversation.last_message_at or conversation.created_at, digits),
    }
