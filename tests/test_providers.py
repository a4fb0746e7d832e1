"""Provider objects without HTTP: filters, sweeps, unread lists, error bodies, options."""

from __future__ import annotations

import pandas as pd
import pytest

import toolkit as tk
from toolkit._paging import Page
from toolkit.providers import PROVIDERS, PullOptions
from toolkit.providers._load import TopUnmoved
from toolkit.providers.briq import BRIQ
from toolkit.providers.wassist import WASSIST

SINCE = pd.Timestamp("2026-11-02T10:00:00Z")


def page_of(*moments: str) -> Page:
    records = [{"id": f"c{n}", "last_message_at": moment} for n, moment in enumerate(moments)]
    return Page(0, 100, records, [None] * len(records), None, None, SINCE)


def test_wassist_filters_become_its_documented_query():
    params = WASSIST.params(has_unread=False, last_message_after="2026-11-01 08:00", status="active")
    assert params == {"hasUnread": "false", "lastMessageAfter": "2026-11-01T08:00:00.000000Z",
                      "status": "active"}


def test_wassist_changed_since_moves_last_message_after_up_but_never_down():
    assert WASSIST.changed_since({}, SINCE).params == {"lastMessageAfter": "2026-11-02T10:00:00.000000Z"}
    later = {"lastMessageAfter": "2026-11-03T00:00:00.000000Z"}
    assert WASSIST.changed_since(later, SINCE).params == later
    assert WASSIST.changed_since({"lastMessageBefore": "2026-11-01T00:00:00.000000Z"}, SINCE) is None


def test_briq_changed_since_reads_from_the_top_until_rows_older_than_the_moment():
    query = BRIQ.changed_since({"status": "open"}, SINCE)
    assert query.params == {"status": "open"}
    assert not query.is_last(page_of("2026-11-02T11:00:00Z", "2026-11-02T10:30:00Z"))
    assert query.is_last(page_of("2026-11-02T11:00:00Z", "2026-11-02T09:59:59Z"))
    assert query.is_last(page_of())


def test_unread_lists_and_which_provider_needs_a_separate_pass():
    assert WASSIST.unread_params({"status": "active"}) == {"status": "active", "hasUnread": "true"}
    assert BRIQ.unread_params({"status": "all", "search": "x"}) == {"status": "unread", "search": "x"}
    assert WASSIST.needs_unread_pass({}) and not WASSIST.needs_unread_pass({"hasUnread": "true"})
    assert not BRIQ.needs_unread_pass({})


def test_each_provider_reads_its_own_error_bodies():
    assert WASSIST.error_texts({"error": "Invalid key", "code": "invalid_api_key"}) == (
        ["invalid_api_key"], ["Invalid key"])
    assert BRIQ.error_texts({"success": False, "errors": [{"code": "VALIDATION_ERROR", "message": "bad",
                                                           "field": "status"}]}) == (["VALIDATION_ERROR"],
                                                                                   ["status: bad"])
    assert BRIQ.error_texts({"detail": [{"loc": ["query", "limit"], "msg": "too big", "type": "le"}]}) == (
        ["le"], ["query.limit: too big"])
    assert BRIQ.error_texts({"error": {"code": "WINDOW_CLOSED", "message": "closed"}}) == (
        ["WINDOW_CLOSED"], ["closed"])
    assert BRIQ.body_request_id({"request_id": "req-1"}) == "req-1"
    assert WASSIST.body_request_id({"request_id": "req-1"}) is None


def test_only_wassist_bodies_carry_a_retry_hint():
    assert WASSIST.retry_hint({"retry_after": 2.5}) == 2.5
    assert WASSIST.retry_hint({"retryAfter": "3"}) == 3.0
    assert WASSIST.retry_hint({"retry_after": True}) is None
    assert BRIQ.retry_hint({"retry_after": 2.5}) is None


@pytest.mark.parametrize("options", [
    dict(page_size=0), dict(page_size=True), dict(max_workers=0), dict(rate_limit="fast"),
])
def test_bad_pull_options_are_value_errors(options):
    with pytest.raises(ValueError):
        PullOptions(**options)


def test_pull_options_fill_in_the_default_workers_and_the_provider_budget():
    assert PullOptions().workers == 16 and PullOptions(max_workers=3).workers == 3
    client = WASSIST.client("k" * 8, "http://127.0.0.1:9", PullOptions())
    assert client.paced and not BRIQ.client("k" * 8, "http://127.0.0.1:9", PullOptions()).paced
    assert not WASSIST.client("k" * 8, "http://127.0.0.1:9", PullOptions(rate_limit=None)).paced


def test_every_provider_is_registered_under_its_own_name():
    assert {name: provider.name for name, provider in PROVIDERS.items()} == {"wassist": "wassist",
                                                                              "briq": "briq"}


@pytest.mark.parametrize("call", [
    lambda: tk.window_remaining(tk.empty_frame(), as_of=5),
    lambda: tk.load_snapshots(".", since=5),
    lambda: WASSIST.params(last_message_after=5),
    lambda: WASSIST.params(last_message_before="not a date"),
])
def test_one_reader_of_moments_answers_bad_ones_with_value_error(call):
    with pytest.raises(ValueError, match="must be a string, date, datetime or Timestamp|cannot read"):
        call()


def test_the_http_client_reads_error_bodies_only_through_its_provider(sandbox):
    from toolkit._http import HttpClient

    def refusal(answers):
        client = HttpClient("briq", sandbox.base_url, "wrong-key-123", answers=answers)
        with pytest.raises(tk.AuthenticationError) as caught:
            client.get_json(BRIQ.path)
        return caught.value

    told_nothing, told_briq = refusal(None), refusal(BRIQ)
    assert told_nothing.codes == [] and "UNAUTHORIZED" in told_nothing.messages[0]  # only quoted
    assert told_briq.codes == ["UNAUTHORIZED"] and told_briq.messages == ["Invalid or missing API key"]
    assert told_briq.request_id and told_briq.request_id.startswith("req-")


def test_sweep_stops_at_a_top_page_of_rows_already_read_and_only_there():
    def page(offset: int, keys: list) -> Page:
        return Page(offset, 2, [{}] * len(keys), keys, None, None, pd.Timestamp("2026-01-01", tz="UTC"))

    read = {("a", "t1"), ("b", "t0")}
    never = TopUnmoved(read, lambda page: False)
    assert never(page(0, [("a", "t1"), ("b", "t0")]))
    assert not never(page(0, [("a", "t2"), ("b", "t0")]))  # "a" moved: new activity, new key
    assert not never(page(0, [None, ("b", "t0")]))  # a row without an id proves nothing
    assert not never(page(0, []))
    assert not never(page(2, [("a", "t1"), ("b", "t0")]))  # only the top page shows what moved
    assert TopUnmoved(read, lambda page: True)(page(0, [("c", "t3")]))  # the sweep's own test still rules
