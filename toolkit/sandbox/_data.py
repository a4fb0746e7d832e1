"""Seeded, realistic synthetic conversations for the sandbox.

One :class:`Conversation` per thread, provider-neutral; :mod:`._render` turns it into each
provider's JSON. Times are kept relative to the moment the data was made, so a sandbox
started at any time shows the same shape: windows closing soon, closed, unread piles.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

WINDOW = timedelta(hours=24)

_FIRST_NAMES = [
    "Asha", "Juma", "Neema", "Baraka", "Zawadi", "Alex", "Priya", "Chen", "Fatima", "Lucas",
    "Amina", "Omar", "Grace", "Daniel", "Mwajuma", "Sofia", "Kofi", "Yusuf", "Elena", "Noah",
]
_LAST_NAMES = ["Mushi", "Kimaro", "Smith", "Patel", "Okafor", "Silva", "Njoroge", "Haddad", "Lee", "Moshi"]
# End users write their own display names: emoji, scripts, and the odd formula-like one.
_ODD_NAMES = ["🌸 Maua", "Ибрагим", "=HYPERLINK(\"x\")", "+255 customer", "@support", "José Ñandú", "  "]
_COUNTRY_PREFIXES = ["255", "254", "44", "256", "27"]
_MESSAGES = ["Where is my order?", "Hello", "Can I change my address?", "Thanks!", "Is this in stock?",
             "I need help with my payment", "Habari, naomba msaada", "When do you open?"]


@dataclass
class Conversation:
    """One thread, as the sandbox keeps it."""

    id: str
    provider: str
    phone: str
    name: str | None
    channel_id: str
    channel_name: str
    created_at: datetime
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_role: str
    last_body: str
    unread_count: int
    human_takeover: bool
    is_active: bool
    extra: dict = field(default_factory=dict)

    def window_expires_at(self) -> datetime | None:
        """When the 24-hour window closes (or closed); ``None`` without any inbound message."""
        return None if self.last_inbound_at is None else self.last_inbound_at + WINDOW

    def window_open(self, now: datetime) -> bool:
        expires = self.window_expires_at()
        return expires is not None and expires > now

    # The rules every change follows, in the live sandbox and in the simulated history.

    def customer_writes(self, when: datetime, body: str | None = None) -> None:
        """A message from the customer: unread, and the window runs 24 h from it."""
        if self.unread_count == 0:
            self.extra["unread_since"] = when
        self.last_message_at = self.last_inbound_at = when
        self.last_role = "user"
        self.last_body = body if body is not None else random.Random(f"{self.id}:{when}").choice(_MESSAGES)
        self.unread_count += 1
        self.is_active = True

    def agent_reads(self, when: datetime) -> None:
        """The business side reads the thread: nothing unread, no message sent."""
        self.unread_count = 0
        self.extra.pop("unread_since", None)

    def agent_replies(self, when: datetime) -> None:
        """A reply (a paid template once the window has closed, which does not reopen it)."""
        self.agent_reads(when)
        self.last_message_at = when
        self.last_role = "assistant"
        self.last_body = "Thanks for your message, we are on it." if self.window_open(when) else "[template]"

    def close(self) -> None:
        """The business side marks the thread done; the customer's next message reopens it."""
        self.is_active = False


# Display names as a business in Tanzania gives its WhatsApp agents (Wassist) and senders
# (Briq; the Briq API does not send them, data/briq_channel_names.csv does for the demo).
_CHANNEL_NAMES = {
    "A": ["Mauzo Bot", "Support Dar", "Msaada Arusha", "Delivery Desk", "Night Shift", "VIP Care"],
    "S": ["Duka Online", "Malipo Desk", "Delivery Mwanza", "Customer Care", "Sales Zanzibar", "Promotions"],
}
_OTHER_CHANNEL_NAMES = ["Front Desk", "Back Office"]


def make_channels(rng: random.Random, count: int, kind: str) -> list[tuple[str, str]]:
    """``count`` agents (kind ``"A"``) or senders (``"S"``) as ``(uuid, display name)``.

    Names are distinct: past the list's end they repeat with a number (``Mauzo Bot 2``).
    """
    names = _CHANNEL_NAMES.get(kind, _OTHER_CHANNEL_NAMES)
    channels = []
    for i in range(count):
        round_number = i // len(names)
        name = names[i % len(names)] + (f" {round_number + 1}" if round_number else "")
        channels.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), name))
    return channels


def make_conversations(provider: str, count: int, seed: int, now: datetime, *,
                       channels: int = 4) -> list[Conversation]:
    """``count`` conversations of ``provider``, reproducible from ``seed``.

    Last-message times spread over two weeks with most activity recent; a quarter of
    threads have no customer message in the last day (window closed), some have never
    heard from the customer, some have no name, phones come with and without ``+``.
    """
    rng = _random_for(provider, seed)
    channel_list = make_channels(rng, channels, _CHANNEL_KIND[provider])
    return [_conversation(rng, provider, channel_list, now) for _ in range(count)]


def channel_names(provider: str, seed: int, channels: int = 4) -> dict[str, str]:
    """``{channel id: display name}`` of the channels :func:`make_conversations` gives ``provider``.

    Briq's API sends sender ids only; this is what a team's channel-names file would say
    about the sandbox's senders (``data/briq_channel_names.csv`` holds seed 7's).
    """
    return dict(make_channels(_random_for(provider, seed), channels, _CHANNEL_KIND[provider]))


_CHANNEL_KIND = {"wassist": "A", "briq": "S"}


def _random_for(provider: str, seed: int) -> random.Random:
    return random.Random(f"{provider}:{seed}")


def new_conversation(rng: random.Random, provider: str, channels: list[tuple[str, str]],
                     now: datetime) -> Conversation:
    """A conversation that starts now with an inbound message (for churn)."""
    conversation = _conversation(rng, provider, channels, now)
    conversation.created_at = now
    conversation.last_message_at = conversation.last_inbound_at = now
    conversation.last_role = "user"
    conversation.unread_count = 1
    conversation.is_active = True
    return conversation


def _conversation(rng: random.Random, provider: str, channels: list[tuple[str, str]],
                  now: datetime) -> Conversation:
    channel_id, channel_name = rng.choice(channels)
    # Hours since the last message: heavy near zero, a long tail over two weeks.
    age_hours = min(rng.expovariate(1 / 14.0), 24 * 14)
    last_message: datetime | None  # None for a thread that never got a message through
    last_message = now - timedelta(hours=age_hours, seconds=rng.randint(0, 59))
    role = "user" if rng.random() < 0.6 else "assistant"
    if rng.random() < 0.05:
        last_inbound = None
    elif role == "user":
        last_inbound = last_message
    else:
        last_inbound = last_message - timedelta(minutes=rng.uniform(1, 60 * 30))
    unread = rng.choice([1, 1, 1, 2, 2, 3, 4, 7]) if role == "user" and rng.random() < 0.65 else 0
    if rng.random() < 0.02:
        last_message = None  # a thread opened by the business that never got a message through
        last_inbound = None
        unread = 0
    prefix = rng.choice(_COUNTRY_PREFIXES)
    digits = prefix + "".join(str(rng.randint(0, 9)) for _ in range(12 - len(prefix)))
    phone = ("+" + digits) if rng.random() < 0.3 else digits
    roll = rng.random()
    if roll < 0.1:
        name = None
    elif roll < 0.14:
        name = rng.choice(_ODD_NAMES)
    else:
        name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    created = (last_message or now) - timedelta(days=rng.uniform(0, 60))
    return Conversation(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        provider=provider,
        phone=phone,
        name=name,
        channel_id=channel_id,
        channel_name=channel_name,
        created_at=created,
        last_message_at=last_message,
        last_inbound_at=last_inbound,
        last_role=role,
        last_body=rng.choice(_MESSAGES),
        unread_count=unread,
        human_takeover=rng.random() < 0.12,
        is_active=rng.random() < 0.9,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
