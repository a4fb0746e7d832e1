"""Loaders over loopback HTTP against the sandbox: values, filters, paging, faults."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime

import pandas as pd
import pytest

import toolkit as tk
from toolkit.sandbox import Sandbox

from .helpers import FAST_RETRY, briq, wassist


def expected_ids(sandbox: Sandbox, provider: str, keep=lambda c: True) -> set[str]:
    return {c.id for c in sandbox.conversations[provider] if keep(c)}


def assert_schema(frame: pd.DataFrame) -> None:
    assert list(frame.columns[: len(tk.SCHEMA) + 1]) == [*tk.SCHEMA, "channel_name"]
    for name, dtype in tk.SCHEMA.items():
        assert frame[name].dtype == dtype, name
    assert frame["channel_name"].dtype == pd.StringDtype("pyarrow")
    assert list(frame["provider"].cat.categories) == ["wassist", "briq"]


@pytest.mark.parametrize("encoding", ["live", "documented"])
def test_wassist_pulls_every_conversation_once_with_its_values(make_sandbox, encoding):
    sandbox = make_sandbox(wassist_encoding=encoding)
    frame = wassist(sandbox, page_size=40)
    assert_schema(frame)
    assert frame["conversation_id"].is_unique
    assert set(frame["conversation_id"]) == expected_ids(sandbox, "wassist")
    by_id = {c.id: c for c in sandbox.conversations["wassist"]}
    now = datetime.now(UTC)
    for row in frame.itertuples():
        source = by_id[row.conversation_id]
        assert row.contact_phone == source.phone.lstrip("+")
        assert (row.contact_name if row.contact_name is not pd.NA else None) == (
            source.name.strip() or None if source.name else None)
        assert row.channel_id == source.channel_id
        assert row.is_human_takeover == source.human_takeover
        assert row.has_unread == (source.unread_count > 0)
        assert row.unread_count is pd.NA
        assert row.window_open == source.window_open(row.fetched_at.to_pydatetime())
        if source.last_message_at is None:
            assert row.last_message_at is pd.NaT
        else:
            # Served with 0, 3 or 6 fractional digits: never more than a second apart.
            assert abs(row.last_message_at.to_pydatetime() - source.last_message_at).total_seconds() < 1
        if row.window_open:
            # fetched_at + remaining seconds (whole seconds on the wire).
            drift = (row.window_expires_at.to_pydatetime() - source.window_expires_at()).total_seconds()
            assert -2 < drift <= 1
        else:
            assert row.window_expires_at is pd.NaT
    assert frame["fetched_at"].max() <= pd.Timestamp(now) + pd.Timedelta(seconds=5)


@pytest.mark.parametrize("envelope", ["enveloped", "bare"])
def test_briq_pulls_every_conversation_once_with_its_values(make_sandbox, envelope):
    sandbox = make_sandbox(briq_envelope=envelope)
    frame = briq(sandbox, page_size=50)
    assert_schema(frame)
    assert frame["conversation_id"].is_unique
    assert set(frame["conversation_id"]) == expected_ids(sandbox, "briq")
    by_id = {c.id: c for c in sandbox.conversations["briq"]}
    for row in frame.itertuples():
        source = by_id[row.conversation_id]
        assert row.contact_phone == source.phone.lstrip("+")
        assert row.channel_id == source.channel_id
        assert row.unread_count == source.unread_count
        assert row.has_unread == (source.unread_count > 0)
        assert row.is_human_takeover is pd.NA
        assert row.is_active == source.is_active
        if row.window_open:
            expected = source.window_expires_at()
            assert abs((row.window_expires_at.to_pydatetime() - expected).total_seconds()) < 1


def test_rows_come_most_recently_active_first(sandbox):
    frame = briq(sandbox)
    times = frame["last_message_at"].dropna()
    assert times.is_monotonic_decreasing
    assert frame["last_message_at"].isna().sum() == 0 or frame["last_message_at"].iloc[-1] is pd.NaT


def test_phones_are_digits_only_and_missing_values_are_pandas_missing(sandbox):
    frame = pd.concat([wassist(sandbox), briq(sandbox)])
    phones = frame["contact_phone"].dropna()
    assert phones.str.fullmatch(r"\d+").all()
    names = frame["contact_name"]
    assert names.isna().any(), "the sandbox has conversations without a name"
    assert not names.isin(["None", "nan", ""]).any()


def test_server_capping_pages_below_the_limit_still_gives_every_row(make_sandbox):
    sandbox = make_sandbox(max_page_size=17)
    frame = briq(sandbox, page_size=100)
    assert set(frame["conversation_id"]) == expected_ids(sandbox, "briq")
    assert frame.attrs["pull"]["passes"]["conversations"]["page_size_served"] == 17
    frame = wassist(sandbox, page_size=100, has_unread=False)
    assert set(frame["conversation_id"]) == expected_ids(sandbox, "wassist", lambda c: c.unread_count == 0)


@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 100])
def test_any_page_size_gives_every_row(make_sandbox, page_size):
    sandbox = make_sandbox(briq_conversations=45)
    frame = briq(sandbox, page_size=page_size)
    assert len(frame) == 45
    assert set(frame["conversation_id"]) == expected_ids(sandbox, "briq")


def test_empty_list_gives_an_empty_frame_with_the_schema(make_sandbox):
    sandbox = make_sandbox(briq_conversations=0, wassist_conversations=0)
    for frame in (briq(sandbox), wassist(sandbox), briq(sandbox, status="unread")):
        assert len(frame) == 0
        assert_schema(frame)


def test_pull_records_what_it_did_in_attrs(make_sandbox):
    sandbox = make_sandbox(briq_conversations=250)
    frame = briq(sandbox, page_size=50)
    pull = frame.attrs["pull"]
    served = len(sandbox.list_requests("briq"))
    assert pull["provider"] == "briq"
    assert pull["requests"] == served
    assert pull["passes"]["conversations"]["total_first"] == 250
    assert pull["rows"] == 250
    assert pd.Timestamp(pull["started_at"]) <= pd.Timestamp(pull["finished_at"])
    assert "sandbox-briq-key" not in repr(frame.attrs)


def test_wassist_unread_comes_from_the_has_unread_list(sandbox):
    frame = wassist(sandbox)
    unread_requests = [r for r in sandbox.list_requests("wassist") if r.params.get("hasUnread") == "true"]
    assert unread_requests, "a second pass with hasUnread=true is made"
    assert set(frame.loc[frame["has_unread"], "conversation_id"]) == expected_ids(
        sandbox, "wassist", lambda c: c.unread_count > 0)
    assert frame["has_unread"].notna().all()


def test_wassist_given_has_unread_needs_one_pass(sandbox):
    frame = wassist(sandbox, has_unread=True)
    assert frame["has_unread"].all()
    assert {r.params.get("hasUnread") for r in sandbox.list_requests("wassist")} == {"true"}
    assert set(frame["conversation_id"]) == expected_ids(sandbox, "wassist", lambda c: c.unread_count > 0)


def test_wassist_filters_reach_the_server_with_documented_names(sandbox):
    agent = sandbox.conversations["wassist"][0].channel_id
    wassist(sandbox, agent=agent, contact="255", has_unread=False, status="active",
            last_message_after=datetime(2020, 1, 1), last_message_before="2099-01-01T00:00:00+02:00")
    first = sandbox.list_requests("wassist")[0].params
    assert first["agent"] == agent
    assert first["contact"] == "255"
    assert first["hasUnread"] == "false"
    assert first["status"] == "active"
    assert pd.Timestamp(first["lastMessageAfter"]) == pd.Timestamp("2020-01-01T00:00:00Z")
    assert pd.Timestamp(first["lastMessageBefore"]) == pd.Timestamp("2098-12-31T22:00:00Z")
    assert first["limit"] == "100" and first["offset"] == "0"


def test_wassist_filters_select_the_right_rows(sandbox):
    agent = sandbox.conversations["wassist"][0].channel_id
    started = datetime.now(UTC)
    frame = wassist(sandbox, agent=agent, status="closed")
    now = datetime.now(UTC)
    expected = expected_ids(sandbox, "wassist", lambda c: c.channel_id == agent and not c.window_open(now))
    # A window that reached its 24 hours during the pull may be on either side of it.
    closing = expected_ids(sandbox, "wassist", lambda c: c.window_open(started) and not c.window_open(now))
    assert set(frame["conversation_id"]) - closing == expected - closing
    assert (frame["channel_id"] == agent).all()


def test_briq_filters_reach_the_server_with_documented_names(sandbox):
    sender = sandbox.conversations["briq"][0].channel_id
    briq(sandbox, sender_id=sender, recipient="+255712345678", status="unread", search="Asha")
    # The first pages go out together, so the log's order is the order they finished in.
    first = next(record.params for record in sandbox.list_requests("briq")
                 if record.params.get("offset") == "0")
    assert first == {"sender_id": sender, "recipient": "+255712345678", "status": "unread", "search": "Asha",
                     "limit": "100", "offset": "0"}


def test_briq_status_filter_selects_unread(sandbox):
    frame = briq(sandbox, status="unread")
    assert set(frame["conversation_id"]) == expected_ids(sandbox, "briq", lambda c: c.unread_count > 0)
    assert (frame["unread_count"] > 0).all()


@pytest.mark.parametrize("call", [
    lambda s: briq(s, status="closed"),
    lambda s: briq(s, recipient="123"),
    lambda s: briq(s, recipient="1" * 21),
    lambda s: briq(s, search="x" * 65),
    lambda s: briq(s, page_size=0),
    lambda s: briq(s, page_size=101),
    lambda s: briq(s, page_size=2.5),
    lambda s: briq(s, max_workers=0),
    lambda s: briq(s, timeout=0),
    lambda s: wassist(s, status="open"),
    lambda s: wassist(s, page_size=101),
    lambda s: wassist(s, last_message_after="not a date"),
    lambda s: wassist(s, has_unread="yes"),
    lambda s: wassist(s, contact=""),
    lambda s: tk.load_briq("k", "ftp://example.org"),
    # A reversed range matches nothing: an empty frame would read as a quiet inbox.
    lambda s: wassist(s, last_message_after="2030-01-01", last_message_before="2020-01-01"),
    lambda s: wassist(s, last_message_after="2026-01-01T00:00Z",
                      last_message_before="2026-01-01T03:00+03:00"),  # the same moment
])
def test_invalid_arguments_raise_value_error_before_any_request(sandbox, call):
    with pytest.raises(ValueError):
        call(sandbox)
    assert sandbox.list_requests() == []


@pytest.mark.parametrize("call, said", [
    (lambda s: briq(s, retry=5), "retry must be a tk.RetryPolicy"),  # it failed at the first retry only
    (lambda s: briq(s, session="x"), "session must be a requests.Session"),
    (lambda s: tk.load_briq(s.config.briq_key, base_url=5), "base_url must be text"),
    (lambda s: tk.load_conversations({"wassist": "a key"}), "must be a dict of loader keyword arguments"),
])
def test_settings_of_the_wrong_type_are_type_errors_before_any_request(sandbox, call, said):
    before = len(sandbox.list_requests())
    with pytest.raises(TypeError, match=said):
        call(sandbox)
    assert len(sandbox.list_requests()) == before


def test_refresh_settings_of_the_wrong_type_are_a_type_error_before_any_request(sandbox):
    pulled = briq(sandbox)
    before = len(sandbox.list_requests())
    with pytest.raises(TypeError, match="must be a dict of loader keyword arguments"):
        tk.refresh(pulled, {"briq": "a key"})
    assert len(sandbox.list_requests()) == before


def test_no_key_names_the_variable_and_sends_nothing(sandbox):
    with pytest.raises(tk.AuthenticationError, match="WASSIST_API_KEY"):
        tk.load_wassist(base_url=sandbox.base_url)
    with pytest.raises(tk.AuthenticationError, match="BRIQ_API_KEY"):
        tk.load_briq(base_url=sandbox.base_url)
    assert sandbox.list_requests() == []


def test_keys_and_base_urls_come_from_the_environment(sandbox, monkeypatch):
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    frame = tk.load_briq(progress=False)
    assert len(frame) == sandbox.config.briq_conversations


SECRET = "sk-live-canary-0123456789abcdef"


def test_refused_key_is_an_authentication_error_without_the_key(sandbox):
    with pytest.raises(tk.AuthenticationError) as caught:
        tk.load_wassist(SECRET, sandbox.base_url, progress=False)
    error = caught.value
    assert (error.provider, error.status) == ("wassist", 401)
    assert error.request_id and error.request_id.startswith("req-")
    assert "invalid_api_key" in error.codes and "invalid_api_key" in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error)

    with pytest.raises(tk.AuthenticationError) as caught:
        tk.load_briq(SECRET, sandbox.base_url, progress=False)
    assert caught.value.status == 401 and "UNAUTHORIZED" in str(caught.value)
    assert caught.value.request_id in str(caught.value)


def test_a_refused_key_names_the_other_providers_refused_or_missing_keys(sandbox):
    # Several providers in one call: a refused key checks the keys of those not yet pulled.
    refused_wassist = {"api_key": SECRET, "base_url": sandbox.base_url, "progress": False}
    with pytest.raises(tk.AuthenticationError) as caught:
        tk.load_conversations({"wassist": refused_wassist,
                               "briq": {"api_key": SECRET + "-briq", "base_url": sandbox.base_url}})
    error = caught.value
    assert error.provider == "wassist" and list(error.also_refused) == ["briq"]
    assert error.also_refused["briq"].status == 401
    assert error.__notes__ == ["briq: its API key is refused too (HTTP 401): check BRIQ_API_KEY or "
                               "its api_key"]
    assert not any(SECRET in text for text in [str(error), *error.__notes__, repr(error.also_refused)])
    # A key that is not there at all is named as missing, with no request.
    before = len(sandbox.list_requests("briq"))
    with pytest.raises(tk.AuthenticationError) as caught:
        tk.load_conversations({"wassist": refused_wassist,
                               "briq": {"base_url": sandbox.base_url}})
    assert caught.value.also_refused["briq"].status is None
    assert caught.value.__notes__ == ["briq: its API key is missing too: check BRIQ_API_KEY or its api_key"]
    assert len(sandbox.list_requests("briq")) == before
    # A good key after a refused one is not named.
    with pytest.raises(tk.AuthenticationError) as caught:
        tk.load_conversations({"wassist": refused_wassist,
                               "briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url}})
    assert caught.value.also_refused == {} and not hasattr(caught.value, "__notes__")
    # Settings the Briq loader would refuse before any request: its key is not sent to check it.
    before = len(sandbox.list_requests("briq"))
    briq_settings = {"api_key": SECRET, "base_url": sandbox.base_url}
    for refused_settings in ({"page_size": 500}, {"status": "closed"}, {"retry": 5}):
        with pytest.raises(tk.AuthenticationError) as caught:
            tk.load_conversations({"wassist": refused_wassist,
                                   "briq": {**briq_settings, **refused_settings}})
        assert caught.value.also_refused == {}
    assert len(sandbox.list_requests("briq")) == before


def test_a_pull_that_fails_for_another_reason_checks_no_other_key(sandbox):
    # Only a key's refusal is worth a word about the other keys: a server error is not.
    sandbox.force("500", "500", "500", "500")
    with pytest.raises(tk.ApiError) as caught:
        tk.load_conversations({"wassist": {"api_key": sandbox.config.wassist_key, "progress": False,
                                           "base_url": sandbox.base_url, "max_workers": 1,
                                           "retry": tk.RetryPolicy(max_attempts=1), "rate_limit": None},
                               "briq": {"api_key": SECRET, "base_url": sandbox.base_url}})
    assert caught.value.status == 500 and not isinstance(caught.value, tk.AuthenticationError)
    assert sandbox.list_requests("briq") == []


def test_a_key_check_is_one_attempt_bounded_by_its_own_deadline_and_timeout(sandbox, monkeypatch):
    from toolkit.providers import PROVIDERS
    from toolkit.providers._load import KEY_CHECK_SECONDS, refused_key

    briq = PROVIDERS["briq"]
    asked = []
    client_of = briq.client
    monkeypatch.setattr(type(briq), "client", lambda self, key, base, options: asked.append(options)
                        or client_of(key, base, options))
    settings = {"api_key": SECRET, "base_url": sandbox.base_url}
    assert refused_key(briq, {**settings, "deadline": 2, "timeout": 60}).status == 401
    # A timeout the loader takes as text ("30") is read as it reads it, never raised over the
    # error the check adds to.
    assert refused_key(briq, {**settings, "timeout": "30"}).status == 401
    assert refused_key(briq, {**settings, "timeout": None}) is None
    assert refused_key(briq, {**settings, "deadline": None}).status == 401
    assert [(options.deadline, options.timeout, options.retry.max_attempts) for options in asked] == [
        (2, 2, 1), (KEY_CHECK_SECONDS, KEY_CHECK_SECONDS, 1), (KEY_CHECK_SECONDS, KEY_CHECK_SECONDS, 1)]


def test_key_not_linked_to_a_workspace_is_403(sandbox):
    with pytest.raises(tk.AuthenticationError) as caught:
        tk.load_briq("sandbox-briq-unlinked", sandbox.base_url, progress=False)
    assert caught.value.status == 403
    assert "WORKSPACE_REQUIRED" in caught.value.codes


def test_validation_error_422_is_an_api_error_with_the_fields(sandbox):
    # Bypass our own validation to see how the server's 422 is reported.
    from toolkit.providers import PullOptions
    from toolkit.providers.briq import BRIQ

    client = BRIQ.client(sandbox.config.briq_key, sandbox.base_url, PullOptions(retry=FAST_RETRY))
    with pytest.raises(tk.ApiError) as caught:
        client.get_json(BRIQ.path, {"status": "closed", "limit": 500})
    error = caught.value
    assert not isinstance(error, tk.AuthenticationError)
    assert error.status == 422
    assert "query.status" in str(error) and "query.limit" in str(error)
    assert "enum" in error.codes


@pytest.mark.parametrize("scripted", ["html", "not-json", "success-false", "wrong-envelope"])
def test_bodies_that_are_not_what_the_provider_documents(sandbox, scripted):
    sandbox.force(scripted)
    with pytest.raises(tk.ResponseFormatError) as caught:
        briq(sandbox)
    assert caught.value.provider == "briq"
    if scripted == "success-false":
        assert "VALIDATION_ERROR" in str(caught.value)


def test_wassist_body_without_results_is_a_format_error(sandbox):
    sandbox.force("wrong-envelope")
    with pytest.raises(tk.ResponseFormatError):
        briq(sandbox)
    sandbox.configure()  # let the pages fetched alongside the failing one finish
    sandbox.force("html")  # the Briq-style body is served on Briq only; use HTML here
    with pytest.raises(tk.ResponseFormatError):
        wassist(sandbox)


def test_a_quarter_of_requests_failing_still_gives_exactly_the_right_rows(make_sandbox):
    sandbox = make_sandbox(fault_rate=0.25, wassist_conversations=900, briq_conversations=900,
                           fault_kinds=("429", "429-body", "429-bare", "500", "502", "503", "reset",
                                        "truncate", "truncate-short"))
    left = briq(sandbox, page_size=50)
    right = wassist(sandbox, page_size=50)
    faults = [r.fault for r in sandbox.list_requests() if r.fault]
    assert len(faults) > 10
    assert left["conversation_id"].is_unique and right["conversation_id"].is_unique
    assert set(left["conversation_id"]) == expected_ids(sandbox, "briq")
    assert set(right["conversation_id"]) == expected_ids(sandbox, "wassist")
    assert set(right.loc[right["has_unread"], "conversation_id"]) == expected_ids(
        sandbox, "wassist", lambda c: c.unread_count > 0)
    assert left.attrs["pull"]["retries"] > 0


def test_retry_after_is_waited_out(make_sandbox):
    sandbox = make_sandbox(retry_after=0.6, briq_conversations=10)
    sandbox.force("429")
    briq(sandbox, max_workers=1)  # one request at a time: the forced 429 meets the first page
    limited, retried = sandbox.list_requests("briq")[:2]
    assert limited.status == 429 and retried.status == 200
    assert retried.at - limited.at >= 0.6


def test_retry_after_in_the_body_is_waited_out(make_sandbox):
    sandbox = make_sandbox(retry_after=0.5, wassist_conversations=10)
    sandbox.force("429-body")
    wassist(sandbox, has_unread=True)
    limited, retried = sandbox.list_requests("wassist")[:2]
    assert limited.status == 429 and retried.status == 200
    assert retried.at - limited.at >= 0.5


def test_exhausted_retries_raise_with_the_attempt_count(sandbox):
    sandbox.force(*["503"] * 3)
    with pytest.raises(tk.ApiError) as caught:
        briq(sandbox, max_workers=1, retry=tk.RetryPolicy(max_attempts=3, backoff_base=0.001))
    assert caught.value.status == 503
    assert caught.value.attempts == 3
    assert "3 attempts" in str(caught.value)


def test_dropped_connections_exhausting_retries_raise_api_error(sandbox):
    sandbox.force("reset", "reset")
    with pytest.raises(tk.ApiError) as caught:
        briq(sandbox, max_workers=1, retry=tk.RetryPolicy(max_attempts=2, backoff_base=0.001))
    assert caught.value.status is None and caught.value.attempts == 2


def test_stalled_server_is_a_timeout_that_is_retried(make_sandbox):
    sandbox = make_sandbox(stall_seconds=1.0, briq_conversations=30)
    sandbox.force("stall")
    # Retries spaced up to half a second: a busy machine that misses 0.3 s a few times in a
    # row must not exhaust the fast test policy's twelve quick attempts.
    patient = tk.RetryPolicy(max_attempts=12, backoff_base=0.05, backoff_max=0.5)
    frame = briq(sandbox, timeout=0.3, retry=patient)
    assert len(frame) == 30
    # The forced stall is one timeout; on a busy machine another 0.3 s wait may time out too.
    assert frame.attrs["pull"]["statuses"].get("timeout", 0) >= 1


def test_client_pacing_keeps_within_the_server_budget(make_sandbox):
    sandbox = make_sandbox(rate_limit=(8, 0.5), briq_conversations=400)
    frame = briq(sandbox, page_size=20, rate_limit=tk.RateLimit(8, 0.5))
    assert len(frame) == 400
    assert [r for r in sandbox.list_requests() if r.status == 429] == []


def test_without_pacing_the_same_budget_is_exceeded(make_sandbox):
    # The control for the test above: the budget really bites when the client ignores it.
    sandbox = make_sandbox(rate_limit=(8, 0.5), briq_conversations=400)
    # Retries that outlast the budget's half-second window: with the fast test policy (a few
    # hundredths of a second between twelve attempts) one page of sixteen in flight could
    # meet twelve refusals on a busy machine and end the pull.
    patient = tk.RetryPolicy(max_attempts=20, backoff_base=0.05, backoff_max=0.5)
    frame = briq(sandbox, page_size=20, rate_limit=None, retry=patient)
    assert len(frame) == 400
    assert [r for r in sandbox.list_requests() if r.status == 429] != []


def test_wassist_is_paced_to_its_documented_budget_by_default():
    from toolkit.providers.wassist import WASSIST

    assert WASSIST.default_rate_limit == tk.RateLimit(100, 60.0)


def test_unreadable_values_become_missing_with_one_warning():
    from toolkit.providers import wassist as provider

    records = [
        {"id": "a", "chatWindowRemainingTime": "soon", "lastMessage": {"createdAt": "yesterday"},
         "active": "maybe", "contact": {"phoneNumber": "n/a", "name": ["Al"]}},
        {"id": "b", "chatWindowRemainingTime": None, "lastMessage": None, "active": True,
         "contact": {"phoneNumber": "+44 7700-900200", "name": "Bo"}},
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from toolkit._values import Tally

        tally = Tally()
        frame = provider.parse_conversations(records, pd.Timestamp("2026-01-01", tz="UTC"), tally)
        from toolkit.providers._load import warn_unreadable

        warn_unreadable(provider.WASSIST, tally)
    assert len([w for w in caught if issubclass(w.category, tk.DataQualityWarning)]) == 1
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["window_open"] is pd.NA and first["last_message_at"] is pd.NaT
    assert first["is_active"] is pd.NA and first["contact_phone"] is pd.NA and first["contact_name"] is pd.NA
    # Absent remaining time means closed, as live clients treat it.
    assert second["window_open"] == False  # noqa: E712
    assert second["contact_phone"] == "447700900200"
    assert tally.counts == {"chatWindowRemainingTime": 1, "lastMessage": 1, "active": 1,
                            "contact.phoneNumber": 1, "contact.name": 1}


def test_load_conversations_combines_providers(sandbox, monkeypatch):
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    combined = tk.load_conversations({"wassist": {"progress": False},
                                      "briq": {"progress": False, "status": "unread"}})
    assert_schema(combined)
    counts = combined["provider"].value_counts()
    assert counts["wassist"] == sandbox.config.wassist_conversations
    assert counts["briq"] == len(expected_ids(sandbox, "briq", lambda c: c.unread_count > 0))
    assert set(combined.attrs["pulls"]) == {"wassist", "briq"}
    by_name = tk.load_conversations(["briq"])
    assert set(by_name["provider"]) == {"briq"}


def test_load_conversations_defaults_to_providers_with_keys(sandbox, monkeypatch):
    monkeypatch.setenv("BRIQ_API_KEY", sandbox.config.briq_key)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    frame = tk.load_conversations()
    assert set(frame["provider"].unique()) == {"briq"}
    assert sandbox.list_requests("wassist") == []


def test_load_conversations_without_any_key_or_with_unknown_names(sandbox):
    with pytest.raises(tk.AuthenticationError, match="WASSIST_API_KEY or BRIQ_API_KEY"):
        tk.load_conversations()
    with pytest.raises(ValueError, match="unknown provider"):
        tk.load_conversations(["whatsapp"])


def test_providers_are_named_in_any_case_as_tables_write_them(sandbox, monkeypatch, tmp_path):
    # Tables and reports write "Briq"; a name copied from one names the provider.
    monkeypatch.setenv("BRIQ_API_KEY", sandbox.config.briq_key)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    monkeypatch.delenv("WASSIST_API_KEY", raising=False)
    listed = tk.load_conversations(["Briq"])
    as_dict = tk.load_conversations({" BRIQ": {"progress": False}})
    assert set(listed["provider"]) == set(as_dict["provider"]) == {"briq"}
    assert list(listed.attrs["pulls"]) == ["briq"]
    tk.save_snapshot(listed, tmp_path, providers=["Briq"])
    assert set(tk.load_snapshots(tmp_path, providers="BRIQ")["provider"]) == {"briq"}
    from toolkit import cli

    assert cli.main(["export", "--provider", " Briq", "--no-progress", "--out", str(tmp_path / "x.csv")]) == 0
    # Two spellings of one provider: which settings were meant cannot be told.
    with pytest.raises(ValueError, match="name a provider more than once"):
        tk.load_conversations({"briq": {"progress": False}, "Briq": {"progress": True}})


def test_progress_bar_shows_pages_and_never_the_key(sandbox, capsys):
    briq(sandbox, progress=True, page_size=25)
    err = capsys.readouterr().err
    assert "briq" in err and re.search(r"\d+/\d+", err)
    assert sandbox.config.briq_key not in err


def test_progress_is_off_when_nobody_is_watching(sandbox, capsys):
    briq(sandbox, progress=None)
    assert capsys.readouterr().err == ""


def test_sweep_after_a_still_list_costs_one_request(make_sandbox):
    # Nothing changes on this server, so re-reading its top page shows only rows the pull
    # already read: that page alone proves nothing moved, however many rows the clock margin spans.
    sandbox = make_sandbox(briq_conversations=3000)
    frame = briq(sandbox, page_size=5)
    started = pd.Timestamp(frame.attrs["pull"]["passes"]["conversations"]["started_at"])
    within_margin = (frame["last_message_at"] >= started - pd.Timedelta(minutes=5)).sum()
    assert within_margin > 2 * 5, "the margin must span several pages for the test to mean anything"
    assert frame.attrs["pull"]["passes"]["conversations sweep 1"]["pages"] == 1
    assert frame["conversation_id"].nunique() == 3000
