"""The sandbox's endpoints and fault injector as plain functions: no server, no HTTP.

The conversations are built by hand, so every expected page below is read off the data,
not off the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.sandbox import Sandbox, SandboxConfig
from toolkit.sandbox._data import Conversation
from toolkit.sandbox._endpoints import WASSIST_PATH, briq_conversations, refused, wassist_conversations
from toolkit.sandbox._faults import FaultInjector, RequestBudget, altered, rate_limited, replacement
from toolkit.sandbox._server import _encoded

NOW = datetime(2026, 9, 29, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def thread(ident: str, hours_ago: float, *, unread: int = 0, inbound_hours_ago: float | None = None,
           phone: str = "255712345678", name: str | None = "Asha Mushi",
           channel: str = "agent-1") -> Conversation:
    last = NOW - hours_ago * HOUR
    inbound = last if inbound_hours_ago is None else NOW - inbound_hours_ago * HOUR
    return Conversation(id=ident, provider="test", phone=phone, name=name, channel_id=channel,
                        channel_name="Support Bot", created_at=last - 24 * HOUR, last_message_at=last,
                        last_inbound_at=inbound, last_role="user", last_body="Hello", unread_count=unread,
                        human_takeover=False, is_active=True)


class ListInbox:
    """Conversations already in listing order; a filter keeps what ``keep`` accepts."""

    def __init__(self, items: list[Conversation]) -> None:
        self.items = items

    def matching(self, provider, params, depends_on_clock, keep, *, active_after=None):
        # Scans everything: what the endpoint's own filter keeps must not rest on active_after.
        return [c for c in self.items if keep(c)]


# Most recently active first: a (1 h ago, open, unread), b (5 h, open), c (30 h, closed, unread),
# d (50 h, closed), e (2 h, open; another agent and contact).
INBOX = ListInbox([
    thread("a", 1, unread=2), thread("e", 2, channel="agent-2", phone="447700900123", name="Chen Lee"),
    thread("b", 5), thread("c", 30, unread=1), thread("d", 50),
])


def wassist(params, now=NOW, **options):
    return wassist_conversations(params, now, inbox=INBOX, base_url="http://sandbox.test", **options)


def briq(params, now=NOW, **options):
    return briq_conversations(params, now, inbox=INBOX, request_id="req-1", **options)


def test_wassist_pages_by_limit_and_offset_with_links():
    status, body = wassist({"limit": "2", "offset": "2"})
    assert status == 200
    assert [item["id"] for item in body["results"]] == ["b", "c"]
    assert body["count"] == 5
    following = urlsplit(body["next"])
    assert f"{following.scheme}://{following.netloc}{following.path}" == "http://sandbox.test" + WASSIST_PATH
    assert parse_qs(following.query) == {"limit": ["2"], "offset": ["4"]}
    assert parse_qs(urlsplit(body["previous"]).query) == {"limit": ["2"], "offset": ["0"]}
    _, last = wassist({"limit": "2", "offset": "4"})
    assert [item["id"] for item in last["results"]] == ["d"] and last["next"] is None


def test_wassist_filters():
    assert [i["id"] for i in wassist({"hasUnread": "true"})[1]["results"]] == ["a", "c"]
    assert [i["id"] for i in wassist({"agent": "agent-2"})[1]["results"]] == ["e"]
    assert [i["id"] for i in wassist({"contact": "chen"})[1]["results"]] == ["e"]
    recent = wassist({"lastMessageAfter": "2026-09-29T08:00:00Z"})[1]["results"]
    assert [i["id"] for i in recent] == ["a", "e"]


def test_window_states_are_as_of_the_clock_given():
    # At noon a, e and b are inside their 24 hours; a day later none is.
    assert [i["id"] for i in wassist({"status": "active"})[1]["results"]] == ["a", "e", "b"]
    assert wassist({"status": "active"}, now=NOW + 24 * HOUR)[1]["results"] == []
    assert [i["id"] for i in briq({"status": "open"})[1]["data"]["items"]] == ["a", "e", "b"]
    assert briq({"status": "open"}, now=NOW + 24 * HOUR)[1]["data"]["items"] == []


@pytest.mark.parametrize("params, name", [
    ({"limit": "0"}, "limit"), ({"offset": "-1"}, "offset"), ({"limit": "ten"}, "limit"),
    ({"status": "open"}, "status"), ({"hasUnread": "maybe"}, "hasUnread"),
    ({"lastMessageAfter": "yesterday"}, "lastMessageAfter"),
])
def test_wassist_refuses_a_bad_parameter_with_its_error_body(params, name):
    status, body = wassist(params)
    assert status == 400
    assert body["code"] == "invalid_parameter" and body["error"].startswith(f"{name}: ")


def test_wassist_caps_pages_at_100_and_at_the_configured_size():
    items = [thread(f"{n:04x}", n / 10) for n in range(150)]  # hex, as real ids are
    inbox = ListInbox(items)
    _, body = wassist_conversations({"limit": "500"}, NOW, inbox=inbox, base_url="http://x")
    assert len(body["results"]) == 100
    _, capped = wassist_conversations({"limit": "50"}, NOW, inbox=inbox, base_url="http://x", max_page_size=7)
    assert [i["id"] for i in capped["results"]] == [f"{n:04x}" for n in range(7)]


def test_briq_envelope_and_bare_listing():
    status, body = briq({"limit": "2", "offset": "1"})
    assert status == 200 and body["success"] is True and body["request_id"] == "req-1"
    listing = body["data"]
    assert [item["id"] for item in listing["items"]] == ["e", "b"]
    assert (listing["total"], listing["limit"], listing["offset"]) == (5, 2, 1)
    _, bare = briq({"limit": "2", "offset": "1"}, bare=True)
    assert bare == listing


def test_briq_filters():
    assert [i["id"] for i in briq({"status": "unread"})[1]["data"]["items"]] == ["a", "c"]
    assert [i["id"] for i in briq({"recipient": "+447700900123"})[1]["data"]["items"]] == ["e"]
    assert [i["id"] for i in briq({"sender_id": "agent-2"})[1]["data"]["items"]] == ["e"]
    assert [i["id"] for i in briq({"search": "asha"})[1]["data"]["items"]] == ["a", "b", "c", "d"]


def test_briq_reports_every_bad_parameter_unenveloped():
    status, body = briq({"limit": "500", "status": "closed", "recipient": "12"})
    assert status == 422
    assert [(problem["loc"], problem["type"]) for problem in body["detail"]] == [
        (["query", "limit"], "less_than_equal"), (["query", "status"], "enum"),
        (["query", "recipient"], "string_too_short")]


def test_hostile_servers_lie_as_configured():
    _, phantom = briq({"limit": "2", "offset": "2"}, hostile="phantom-total")
    assert phantom["data"]["total"] == 10_000_000 and phantom["data"]["items"] == []
    _, same = wassist({"limit": "2", "offset": "2"}, hostile="same-page")
    assert [i["id"] for i in same["results"]] == ["a", "e"]
    _, elsewhere = wassist({"limit": "2"}, hostile="next-elsewhere", elsewhere="http://127.0.0.2:9")
    assert elsewhere["next"].startswith("http://127.0.0.2:9" + WASSIST_PATH)


def test_an_endpoint_answers_the_same_inputs_the_same_way():
    assert wassist({"limit": "3"}) == wassist({"limit": "3"})
    assert briq({"status": "open"}) == briq({"status": "open"})


def test_refused_keys_get_each_providers_error_body():
    assert refused("wassist", True, False, "req-1") is None
    assert refused("wassist", False, False, "req-1") == (
        401, {"error": "Invalid or missing API key", "code": "invalid_api_key"})
    status, body = refused("briq", False, True, "req-1")
    assert status == 403 and body["request_id"] == "req-1"
    assert body["errors"][0]["code"] == "WORKSPACE_REQUIRED"
    assert refused("briq", False, False, "req-1")[1]["errors"][0]["code"] == "UNAUTHORIZED"


def test_forced_faults_come_first_in_order_then_the_seeded_draw():
    injector = FaultInjector(seed=3)
    injector.force("html", "500")
    assert [injector.pick(0.0, ("429",)) for _ in range(3)] == ["html", "500", None]
    draws = [injector.pick(0.5, ("429", "503")) for _ in range(40)]
    again = FaultInjector(seed=3)
    assert [again.pick(0.5, ("429", "503")) for _ in range(40)] == draws
    assert {None, "429", "503"} == set(draws)
    with pytest.raises(ValueError, match="unknown responses"):
        injector.force("teapot")


def test_fault_replies():
    throttled = replacement("429", retry_after=2.0, stall_seconds=3.0)
    assert throttled.status == 429 and throttled.headers == {"Retry-After": "2"}
    assert throttled.body["retry_after"] == 2.0
    assert replacement("429-body", retry_after=2.0, stall_seconds=3.0).headers == {}
    stall = replacement("stall", retry_after=0, stall_seconds=3.0)
    assert (stall.status, stall.delay) == (503, 3.0)
    assert replacement("reset", retry_after=0, stall_seconds=0).reset
    assert replacement("html", retry_after=0, stall_seconds=0).content_type == "text/html"
    # Faults that bend the endpoint's answer, or cut how it is written, replace nothing.
    for bending in ("truncate", "truncate-short", "wrong-envelope", "success-false"):
        assert replacement(bending, retry_after=0, stall_seconds=0) is None
    assert rate_limited(0.1234, body_wait=0.123).headers == {"Retry-After": "0.123"}


def test_altered_answers():
    _, page = wassist({"limit": "2"})
    assert altered("wrong-envelope", "wassist", 200, page, "r") == {"items": page["results"], "total": 5}
    _, listing = briq({"limit": "2"})
    assert altered("wrong-envelope", "briq", 200, listing, "r") == {"results": listing["data"]["items"],
                                                                     "count": 5}
    failed = altered("success-false", "briq", 200, listing, "req-9")
    assert failed["success"] is False and failed["request_id"] == "req-9"
    assert altered("success-false", "wassist", 200, page, "r") is page
    assert altered("wrong-envelope", "wassist", 400, {"error": "x"}, "r") == {"error": "x"}


def test_request_budget_slides():
    budget = RequestBudget()
    assert [budget.charge("k", 2, 10.0, now) for now in (0.0, 1.0)] == [None, None]
    assert budget.charge("k", 2, 10.0, 4.0) == pytest.approx(6.0)
    assert budget.charge("other", 2, 10.0, 4.0) is None  # each key has its own budget
    assert budget.charge("k", 2, 10.0, 10.0) is None  # the first request left the window


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), churn=st.integers(0, 300), minutes=st.integers(-3 * 24 * 60, 60))
def test_the_sandboxs_activity_index_lists_what_a_full_scan_lists(seed, churn, minutes):
    """``lastMessageAfter`` served from the ordered list's prefix, as an index would: same pages as a scan."""
    sandbox = Sandbox(SandboxConfig(seed=seed, wassist_conversations=150, briq_conversations=1))
    sandbox.churn(churn)
    now = sandbox.now()
    after = now + timedelta(minutes=minutes)
    params = {"lastMessageAfter": after.isoformat(), "limit": "100", "offset": "0"}
    with_index = wassist_conversations(params, now, inbox=sandbox, base_url="http://x")
    scanned = wassist_conversations(params, now, inbox=ListInbox(sandbox.ordered("wassist")), base_url="http://x")
    assert with_index == scanned
    assert with_index[1]["count"] == sum(1 for c in sandbox.conversations["wassist"]
                                         if c.last_message_at is not None and c.last_message_at > after)


@pytest.mark.parametrize("body", [
    {"items": [{"id": "c1", "contact_profile_name": "Ибрагим 🌸", "unread_count": 3}], "total": 1},
    {"count": 2**70, "note": "an integer beyond 64 bits, which the fast encoder refuses"},
    {"text": "quote \" backslash \\ control \u0001 line\nbreak"},
])
def test_the_sandbox_writes_json_that_reads_back_as_the_body_it_was_given(body):
    assert json.loads(_encoded(body).decode("utf-8")) == body


def test_agents_answering_the_backlog_answer_unread_conversations_only():
    sandbox = Sandbox(SandboxConfig(seed=5, wassist_conversations=40, briq_conversations=40))
    unread_before = {(provider, item.id) for provider, items in sandbox.conversations.items()
                     for item in items if item.unread_count}
    assert len(unread_before) > 5
    answered = sandbox.answer_unread(5)
    replies = [(provider, cid) for kind, provider, cid, _ in sandbox.events if kind == "reply"]
    assert answered == len(replies) == 5 and set(replies) <= unread_before
    for provider, cid in replies:
        item = next(item for item in sandbox.conversations[provider] if item.id == cid)
        assert item.unread_count == 0 and item.last_role == "assistant"
    # More than there are: every one still unread is answered, and no more.
    assert sandbox.answer_unread(10_000) == len(unread_before) - 5
    assert not any(item.unread_count for items in sandbox.conversations.values() for item in items)
