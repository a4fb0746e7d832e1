"""What an analyst would write without the toolkit: the baselines of the benchmarks.

A sequential ``requests`` loop over the offset pages, ``pd.json_normalize`` on everything
it collected, and the dtype fixes needed to reach the unified schema. Written the way a
careful analyst would (one ``requests.Session``, a timeout, ``raise_for_status``), so the
comparison is with good everyday code, not a straw man.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import requests

WASSIST_PATH = "/api/v1/conversations/"
BRIQ_PATH = "/v1/whatsapp/conversations"


def naive_pull(provider: str, base_url: str, api_key: str, page_size: int = 100) -> tuple[pd.DataFrame, int]:
    """Fetch every page one at a time, then normalise; returns the frame and the requests sent."""
    path = WASSIST_PATH if provider == "wassist" else BRIQ_PATH
    records: list[dict[str, Any]] = []
    offset = 0
    sent = 0
    with requests.Session() as session:
        while True:
            response = session.get(base_url + path, headers={"X-API-Key": api_key},
                                   params={"limit": page_size, "offset": offset}, timeout=30)
            sent += 1
            response.raise_for_status()
            body = response.json()
            if provider == "wassist":
                items, total = body["results"], body["count"]
            else:
                listing = body.get("data", body)
                items, total = listing["items"], listing["total"]
            records.extend(items)
            offset += len(items)
            if not items or offset >= total:
                break
    fetched_at = pd.Timestamp.now(tz="UTC")
    return naive_normalise(provider, records, fetched_at), sent


def naive_normalise(provider: str, records: list[dict[str, Any]], fetched_at: pd.Timestamp) -> pd.DataFrame:
    """``pd.json_normalize`` plus the conversions to the unified columns and dtypes."""
    flat = pd.json_normalize(records)
    if provider == "briq":
        frame = pd.DataFrame({
            "provider": pd.Categorical(["briq"] * len(flat), categories=["wassist", "briq"]),
            "conversation_id": flat["id"].astype("string"),
            "contact_phone": flat["recipient_phone"].astype("string").str.replace(r"\D", "", regex=True),
            "contact_name": flat["contact_profile_name"].astype("string"),
            "channel_id": flat["sender_id"].astype("string"),
            "is_active": flat["is_active"].astype("boolean"),
            "is_human_takeover": pd.array([pd.NA] * len(flat), dtype="boolean"),
            "has_unread": (flat["unread_count"] > 0).astype("boolean"),
            "unread_count": flat["unread_count"].astype("Int64"),
            "last_message_at": pd.to_datetime(flat["last_message_at"], utc=True, format="ISO8601"),
            "window_open": flat["window.open"].astype("boolean"),
            "window_expires_at": pd.to_datetime(flat["window.expires_at"], utc=True, format="ISO8601"),
        })
    else:
        words = {"true": True, "false": False, True: True, False: False}
        agent = flat["activeAgent.id"] if "activeAgent.id" in flat else flat["activeAgent"]
        last = flat["lastMessage.createdAt"] if "lastMessage.createdAt" in flat else flat["lastMessage"]
        remaining = pd.to_numeric(flat["chatWindowRemainingTime"], errors="coerce")
        window_open = remaining > 0
        frame = pd.DataFrame({
            "provider": pd.Categorical(["wassist"] * len(flat), categories=["wassist", "briq"]),
            "conversation_id": flat["id"].astype("string"),
            "contact_phone": flat["contact.phoneNumber"].astype("string").str.replace(r"\D", "", regex=True),
            "contact_name": flat["contact.name"].astype("string"),
            "channel_id": agent.astype("string"),
            "is_active": flat["active"].map(words).astype("boolean"),
            "is_human_takeover": flat["isHumanTakeover"].map(words).astype("boolean"),
            "has_unread": pd.array([pd.NA] * len(flat), dtype="boolean"),
            "unread_count": pd.array([pd.NA] * len(flat), dtype="Int64"),
            "last_message_at": pd.to_datetime(last.replace("", None), utc=True, format="ISO8601"),
            "window_open": window_open.astype("boolean"),
            "window_expires_at": (fetched_at + pd.to_timedelta(remaining.where(window_open), unit="s")),
        })
    frame["fetched_at"] = fetched_at
    return frame
