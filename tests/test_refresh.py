"""tk.refresh against the sandbox: after churn, a refresh equals a full pull taken right after.

Clocks: a full pull stamps ``fetched_at`` with the arrival time, Wassist's window expiry is
that arrival time plus the seconds the server says are left, and windows close by the
minute. Two pulls a second apart can therefore differ in those fields for reasons that
have nothing to do with the refresh. The equality tests stop both clocks at one moment
(the sandbox's with ``Sandbox.freeze``, the toolkit's with ``_clock.frozen``): every
field, ``fetched_at`` and the window fields included, must then match exactly. One test
runs on the wall clock and compares the fields that do not depend on the moment of the
fetch.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time

import numpy as np
import pandas as pd
import pytest
import requests

import toolkit as tk
from toolkit import _clock
from toolkit._refresh import _taken_from_two, activity_since, age_text
from toolkit._schema import COLUMNS
from toolkit.sandbox import Sandbox

from .helpers import FAST_RETRY

SEEDS = (1, 2, 3)
# Everything a refresh promises to see: new messages, reads without a message, new threads.
VISIBLE_CHURN = ("new", "message", "read")
BOTH = ("wassist", "briq")
# Fields that do not depend on the moment of the fetch: what a refresh and a full pull must
# share on the wall clock, with traffic between them.
MOMENT_FREE = ["provider", "conversation_id", "contact_phone", "contact_name", "channel_id",
               "is_human_takeover", "has_unread", "unread_count", "last_message_at"]


def settings(sandbox: Sandbox, provider: str) -> dict:
    """Loader settings (no filters) that point ``provider`` at ``sandbox``."""
    key = sandbox.config.wassist_key if provider == "wassist" else sandbox.config.briq_key
    return {"api_key": key, "base_url": sandbox.base_url, "retry": FAST_RETRY, "rate_limit": None,
            "page_size": 40}


def full_pull(sandbox: Sandbox, provider: str, **filters) -> pd.DataFrame:
    return tk.load_conversations({provider: {**settings(sandbox, provider), "progress": False, **filters}})


def pull_both(sandbox: Sandbox) -> pd.DataFrame:
    return tk.load_conversations({name: {**settings(sandbox, name), "progress": False} for name in BOTH})


@contextlib.contextmanager
def stopped_clocks(sandbox: Sandbox):
    """The sandbox's clock and the toolkit's, stopped at the same moment."""
    moment = sandbox.freeze()
    try:
        with _clock.frozen(moment) as stamp:
            yield stamp
    finally:
        sandbox.thaw()


def assert_same(refreshed: pd.DataFrame, full: pd.DataFrame, columns=None) -> None:
    """Equal conversation for conversation, field by field (row order included)."""
    columns = list(full.columns) if columns is None else columns
    assert list(refreshed.columns) == list(full.columns)
    pd.testing.assert_frame_equal(refreshed[columns].reset_index(drop=True),
                                  full[columns].reset_index(drop=True))


def events(sandbox: Sandbox, kind: str, provider: str) -> int:
    return sum(1 for event in sandbox.events if event[0] == kind and event[1] == provider)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_refresh_after_churn_equals_a_full_pull(make_sandbox, provider, seed):
    sandbox = make_sandbox(seed=seed)
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, provider)
        sandbox.churn(60, VISIBLE_CHURN)
        assert min(events(sandbox, kind, provider) for kind in VISIBLE_CHURN) > 0
        refreshed = tk.refresh(previous, {provider: settings(sandbox, provider)}, progress=False)
        after = full_pull(sandbox, provider)
    assert len(after) != len(previous)  # new threads arrived
    assert_same(refreshed, after)
    info = refreshed.attrs["refresh"][provider]
    assert info["full_pull"] is False and info["reason"] is None
    assert info["rows_carried"] > 0 and info["rows_fetched"] > 0
    assert info["rows_carried"] + info["rows_fetched"] == len(after)
    assert 0 < info["requests"] < after.attrs["pulls"][provider]["requests"]
    # Nothing moved while it read: the merge made beside the sweeps stood.
    assert refreshed.attrs["pulls"][provider]["merged_beside_sweeps"] is True


def test_a_previous_frame_holding_a_conversation_twice_is_pulled_in_full(make_sandbox):
    # One row dropped and another doubled: the count still matches the pull's, but which row to
    # carry cannot be known. A full pull, said in the record, and no conversation twice.
    import copy

    sandbox = make_sandbox(seed=3)
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, "briq")
        doubled = pd.concat([previous.iloc[1:], previous.iloc[[5]]], ignore_index=True)
        doubled.attrs = copy.deepcopy(previous.attrs)
        refreshed = tk.refresh(doubled, {"briq": settings(sandbox, "briq")}, progress=False)
        after = full_pull(sandbox, "briq")
    info = refreshed.attrs["refresh"]["briq"]
    assert info["full_pull"] is True and "more than once" in info["reason"]
    assert not refreshed.duplicated(["provider", "conversation_id"]).any()
    assert_same(refreshed, after)


@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_reads_without_a_new_message_are_seen(make_sandbox, provider):
    sandbox = make_sandbox(seed=4)
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, provider)
        # Unread threads whose last message is older than the refresh's look-back.
        hour_ago = previous["fetched_at"] - pd.Timedelta(hours=1)
        old_unread = previous[previous["has_unread"].fillna(False) & (previous["last_message_at"] < hour_ago)]
        read = old_unread["conversation_id"].head(5).tolist()
        assert len(read) == 5
        for conversation_id in read:
            sandbox.read(provider, conversation_id)
        refreshed = tk.refresh(previous, {provider: settings(sandbox, provider)}, progress=False)
        after = full_pull(sandbox, provider)
    assert_same(refreshed, after)
    now_read = refreshed.set_index("conversation_id").loc[read]
    assert not now_read["has_unread"].any()
    if provider == "briq":
        assert (now_read["unread_count"] == 0).all()
    assert refreshed.attrs["refresh"][provider]["full_pull"] is False


@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_a_thread_leaving_the_list_forces_a_full_pull(make_sandbox, provider):
    sandbox = make_sandbox(seed=5)
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, provider)
        # A quiet thread (no activity, nothing unread): nothing but the total can reveal it left.
        quiet = previous[~previous["has_unread"].fillna(False)
                         & (previous["last_message_at"] < previous["fetched_at"] - pd.Timedelta(hours=2))]
        gone = quiet["conversation_id"].iloc[0]
        sandbox.remove(provider, gone)
        sandbox.churn(10, VISIBLE_CHURN)
        refreshed = tk.refresh(previous, {provider: settings(sandbox, provider)}, progress=False)
        after = full_pull(sandbox, provider)
    assert_same(refreshed, after)
    assert gone not in set(refreshed["conversation_id"])
    info = refreshed.attrs["refresh"][provider]
    assert info["full_pull"] is True
    assert "server reports" in info["reason"]


@pytest.mark.parametrize(("provider", "filters"), [
    ("wassist", {"status": "active"}),
    ("wassist", {"has_unread": True}),
    ("wassist", {"agent": None}),  # filled with a real agent id below
    ("briq", {"status": "open"}),
    ("briq", {"status": "unread"}),
    ("briq", {"sender_id": None}),  # filled with a real sender id below
])
def test_filters_are_kept(make_sandbox, provider, filters):
    sandbox = make_sandbox(seed=6)
    filters = dict(filters)
    for name in ("agent", "sender_id"):
        if name in filters:
            filters[name] = sandbox.conversations[provider][0].channel_id
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, provider, **filters)
        sandbox.churn(30, VISIBLE_CHURN)
        refreshed = tk.refresh(previous, {provider: settings(sandbox, provider)}, progress=False)
        after = full_pull(sandbox, provider, **filters)
    assert_same(refreshed, after)
    assert refreshed.attrs["pulls"][provider]["filters"] == previous.attrs["pulls"][provider]["filters"]
    assert refreshed.attrs["refresh"][provider]["full_pull"] is False
    if provider == "briq" and filters.get("status") != "unread":
        # Briq's unread list sweeps itself only when it does not lie within the list the
        # activity read sweeps: with status=open (an unread thread's window may be closed).
        passes = refreshed.attrs["pulls"][provider]["passes"]
        assert any(name.startswith("unread sweep") for name in passes) == (filters.get("status") == "open")


def test_both_providers_and_a_refresh_of_a_refresh(make_sandbox):
    sandbox = make_sandbox(seed=8)
    everything = {name: settings(sandbox, name) for name in ("wassist", "briq")}
    with stopped_clocks(sandbox):
        previous = pull_both(sandbox)
        sandbox.churn(20, VISIBLE_CHURN)
        once = tk.refresh(previous, everything, progress=False)
        sandbox.churn(20, VISIBLE_CHURN)
        twice = tk.refresh(once, everything, progress=False)
        after = pull_both(sandbox)
    assert_same(twice, after)
    assert set(twice.attrs["refresh"]) == {"wassist", "briq"}
    assert not any(info["full_pull"] for info in twice.attrs["refresh"].values())
    # The refresh of a refresh still knows when the last full pull was.
    assert (twice.attrs["pulls"]["briq"]["full_pull_at"] == previous.attrs["pulls"]["briq"]["started_at"])


def test_a_single_loaders_frame_refreshes(make_sandbox):
    sandbox = make_sandbox(seed=9)
    with stopped_clocks(sandbox):
        previous = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=False, retry=FAST_RETRY)
        sandbox.churn(10, VISIBLE_CHURN)
        refreshed = tk.refresh(previous, {"briq": {"api_key": sandbox.config.briq_key,
                                                   "base_url": sandbox.base_url}}, progress=False)
        after = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=False, retry=FAST_RETRY)
    assert_same(refreshed, after)


def test_the_latest_snapshot_refreshes(make_sandbox, tmp_path):
    sandbox = make_sandbox(seed=10)
    everything = {name: settings(sandbox, name) for name in ("wassist", "briq")}
    with stopped_clocks(sandbox):
        first = pull_both(sandbox)
        tk.save_snapshot(first, tmp_path, snapshot_at=first["fetched_at"].max() - pd.Timedelta(hours=1))
        sandbox.churn(15, VISIBLE_CHURN)
        latest = tk.refresh(first, everything, progress=False)
        tk.save_snapshot(latest, tmp_path)
        sandbox.churn(15, VISIBLE_CHURN)
        history = tk.load_snapshots(tmp_path)
        refreshed = tk.refresh(history, everything, progress=False)
        after = pull_both(sandbox)
    assert history["snapshot_at"].nunique() == 2
    assert_same(refreshed, after)
    # The snapshot keeps the pull's record, never a key.
    kept = json.dumps(history.attrs)
    assert sandbox.config.wassist_key not in kept and sandbox.config.briq_key not in kept
    assert history.attrs["pulls"]["wassist"]["kind"] == "refresh"


def test_an_old_full_pull_forces_a_full_one(make_sandbox):
    sandbox = make_sandbox(seed=11)
    previous = full_pull(sandbox, "briq")
    stale = previous.copy()
    stale.attrs = json.loads(json.dumps(previous.attrs))
    day_ago = pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=25)
    stale.attrs["pulls"]["briq"]["started_at"] = day_ago.isoformat()
    refreshed = tk.refresh(stale, {"briq": settings(sandbox, "briq")}, progress=False)
    info = refreshed.attrs["refresh"]["briq"]
    assert info["full_pull"] is True and "full_every is 24.0 h" in info["reason"]
    assert "is 25.0 h old" in info["reason"]
    # Within full_every, the same frame is refreshed incrementally.
    quick = tk.refresh(stale, {"briq": settings(sandbox, "briq")}, progress=False, full_every="48h")
    assert quick.attrs["refresh"]["briq"]["full_pull"] is False


@pytest.mark.parametrize(("span", "said"), [
    (pd.Timedelta(hours=25), "25.0 h"), (pd.Timedelta(minutes=45), "45 min"),
    (pd.Timedelta(seconds=20), "20 s"), (pd.Timedelta(seconds=2.5), "2.5 s"),
    (pd.Timedelta(milliseconds=500), "500 ms"), (pd.Timedelta(0), "0 ms"),
])
def test_a_span_in_a_refresh_reason_reads_as_people_say_it(span, said):
    # A sub-second full_every once read "0 s", a span that is not zero.
    assert age_text(span) == said


@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_activity_is_read_by_the_servers_clock_not_ours(make_sandbox, provider):
    """Our clock three hours ahead of the server's: messages the server stamps after the pull
    are still older than our record of its start, and are found all the same."""
    sandbox = make_sandbox(seed=14)
    served = sandbox.freeze()
    try:
        with _clock.frozen(served + pd.Timedelta(hours=3)):
            previous = full_pull(sandbox, provider)
            # New messages and reads, no new thread: the list's count stays, so only the
            # activity read can find the messages (no fallback to a full pull hides a miss).
            sandbox.churn(200, ("message", "read"))
            # Many pages of them: a read of Briq's list from the top that starts from the wrong
            # moment stops after its opening pages and misses the rest.
            small_pages = {**settings(sandbox, provider), "page_size": 10}
            assert events(sandbox, "message", provider) > 5 * small_pages["page_size"]
            refreshed = tk.refresh(previous, {provider: small_pages}, progress=False)
            after = full_pull(sandbox, provider)
    finally:
        sandbox.thaw()
    info = refreshed.attrs["refresh"][provider]
    assert info["full_pull"] is False and info["since_clock"] == "server"
    # The sandbox's Date header has whole seconds; the lag reaches a minute before them.
    assert pd.Timestamp(info["since"]) == served.replace(microsecond=0) - pd.Timedelta(minutes=1)
    # Carried windows close by our clock, the server's by its own: three hours apart, the
    # window fields differ for that reason alone. Everything else matches.
    by_either_clock = {"window_open", "window_expires_at", "is_active"}
    assert_same(refreshed, after, [name for name in after.columns if name not in by_either_clock])


def test_without_the_servers_date_our_clock_with_the_wider_lag_counts(make_sandbox):
    sandbox = make_sandbox(seed=15)
    previous = full_pull(sandbox, "briq")
    record = previous.attrs["pulls"]["briq"]
    assert pd.Timestamp(record["server_time_first"]) <= pd.Timestamp(record["finished_at"])
    older = previous.copy()
    older.attrs = json.loads(json.dumps(previous.attrs))
    del older.attrs["pulls"]["briq"]["server_time_first"]  # a snapshot from before it was kept
    sandbox.churn(20, VISIBLE_CHURN)
    refreshed = tk.refresh(older, {"briq": settings(sandbox, "briq")}, progress=False)
    after = full_pull(sandbox, "briq")
    info = refreshed.attrs["refresh"]["briq"]
    assert info["since_clock"] == "ours"
    assert pd.Timestamp(info["since"]) == pd.Timestamp(record["started_at"]) - pd.Timedelta(minutes=5)
    moment_free = ["provider", "conversation_id", "has_unread", "unread_count", "last_message_at"]
    assert_same(refreshed, after, moment_free)


def test_on_the_wall_clock_the_moment_free_fields_match(make_sandbox):
    sandbox = make_sandbox(seed=12)
    everything = {name: settings(sandbox, name) for name in ("wassist", "briq")}
    previous = pull_both(sandbox)
    sandbox.churn(25, VISIBLE_CHURN)
    started = pd.Timestamp.now(tz="UTC")
    refreshed = tk.refresh(previous, everything, progress=False)
    finished = pd.Timestamp.now(tz="UTC")
    after = pull_both(sandbox)
    assert_same(refreshed, after, MOMENT_FREE)
    # Every row, carried or fetched, was vouched for during the refresh.
    assert refreshed["fetched_at"].between(started, finished).all()


@pytest.mark.parametrize("kind", ["read-from-csv", "rebuilt", "empty"])
def test_a_frame_without_a_pull_is_refused(make_sandbox, tmp_path, kind):
    sandbox = make_sandbox(seed=13)
    pulled = full_pull(sandbox, "briq")
    if kind == "read-from-csv":
        frame = tk.read_csv(tk.to_csv(pulled, tmp_path / "x.csv"))
    elif kind == "rebuilt":
        frame = pd.DataFrame(pulled.to_dict("list"))
    else:
        frame = tk.empty_frame()
    with pytest.raises(ValueError, match="comes from a pull") as raised:
        tk.refresh(frame, {"briq": settings(sandbox, "briq")}, progress=False)
    message = str(raised.value)
    assert "tk.load_snapshots" in message and "tk.load_conversations" in message


def test_a_frame_filtered_after_its_pull_is_refused_not_pulled_back_in_full(make_sandbox):
    """pandas keeps attrs through a selection: a filtered frame still carries the whole pull's
    record. Refreshed, it would come back pulled in full, with the rows the user dropped."""
    sandbox = make_sandbox(seed=16)
    previous = pull_both(sandbox)
    both = {name: settings(sandbox, name) for name in BOTH}
    briq_only = previous[previous["provider"] == "briq"]
    with pytest.raises(ValueError, match="holds 0 wassist rows where its pull returned") as raised:
        tk.refresh(briq_only, both, progress=False)
    assert "providers=['briq']" in str(raised.value)
    with pytest.raises(ValueError, match="dropped or added") as raised:
        tk.refresh(previous.head(0), both, progress=False)
    assert "providers=" not in str(raised.value)  # no provider to suggest: none is held whole
    with pytest.raises(ValueError, match="dropped or added after the pull") as raised:
        tk.refresh(previous[previous["has_unread"].fillna(False)], both, progress=False)
    # Every provider the selection cut is named, with what it holds against what was pulled.
    assert all(f"{name} rows where its pull returned" in str(raised.value) for name in BOTH)
    assert "pull wassist and briq in full" in str(raised.value)
    with pytest.raises(ValueError, match="dropped or added after the pull") as raised:
        tk.refresh(pd.concat([previous, previous.tail(1)]), both, progress=False)
    last = previous["provider"].iloc[-1]
    pulled = int((previous["provider"] == last).sum())
    assert f"holds {pulled + 1:,} {last} rows where its pull returned {pulled:,}" in str(raised.value)
    # What the message suggests works: the providers whose rows the frame holds whole.
    refreshed = tk.refresh(briq_only, {"briq": settings(sandbox, "briq")}, progress=False)
    assert set(refreshed["provider"]) == {"briq"}
    assert refreshed.attrs["refresh"]["briq"]["full_pull"] is False


def test_a_history_filtered_after_loading_is_refused_like_a_pulled_frame(make_sandbox, tmp_path):
    """A history carries its snapshots' records through a selection as a pull's frame does: a
    filtered one would be pulled back in full, under a reason that blamed the server."""
    sandbox = make_sandbox(seed=18)
    tk.save_snapshot(pull_both(sandbox), tmp_path)
    history = tk.load_snapshots(tmp_path)
    both = {name: settings(sandbox, name) for name in BOTH}
    with pytest.raises(ValueError, match="holds 0 wassist rows where its pull returned") as raised:
        tk.refresh(history[history["provider"] == "briq"], both, progress=False)
    assert "providers=['briq']" in str(raised.value)
    with pytest.raises(ValueError, match="dropped or added after the pull"):
        tk.refresh(history.head(100), both, progress=False)
    refreshed = tk.refresh(history, both, progress=False)
    assert not any(info["full_pull"] for info in refreshed.attrs["refresh"].values())


@pytest.mark.parametrize("kept", [["provider", "conversation_id"], "all but channel_name",
                                  "all but provider"])
def test_a_frame_with_columns_dropped_after_its_pull_is_refused(make_sandbox, kept):
    """A selection of columns keeps the pull's record too: refreshed, its carried rows would
    come back with the dropped columns empty."""
    sandbox = make_sandbox(seed=17)
    previous = full_pull(sandbox, "briq")
    if isinstance(kept, str):
        kept = [name for name in previous.columns if name != kept.removeprefix("all but ")]
    dropped = [name for name in previous.columns if name not in kept]
    with pytest.raises(ValueError, match="dropped after the pull") as raised:
        tk.refresh(previous[kept], {"briq": settings(sandbox, "briq")}, progress=False)
    assert all(name in str(raised.value) for name in dropped)
    assert "tk.refresh(df)[columns]" in str(raised.value)


def test_a_history_with_two_snapshots_at_one_moment_still_refreshes(make_sandbox, tmp_path):
    """The same pull saved twice: the history holds its rows twice at one moment. That is no
    selection of the user's: the refresh pulls in full (not refused), and the next is incremental."""
    sandbox = make_sandbox(seed=17)
    pulled = full_pull(sandbox, "briq")
    tk.save_snapshot(pulled, tmp_path)
    tk.save_snapshot(pulled, tmp_path)
    once = tk.refresh(tk.load_snapshots(tmp_path), {"briq": settings(sandbox, "briq")}, progress=False)
    assert once.attrs["refresh"]["briq"]["full_pull"] is True
    assert not once["conversation_id"].duplicated().any()
    twice = tk.refresh(once, {"briq": settings(sandbox, "briq")}, progress=False)
    assert twice.attrs["refresh"]["briq"]["full_pull"] is False


def test_filters_and_unknown_providers_are_refused(make_sandbox):
    sandbox = make_sandbox(seed=14)
    previous = full_pull(sandbox, "briq")
    with pytest.raises(ValueError, match="filters come from the previous pull"):
        tk.refresh(previous, {"briq": {**settings(sandbox, "briq"), "status": "open"}})
    with pytest.raises(ValueError, match="no wassist pull"):
        tk.refresh(previous, ["wassist"])
    with pytest.raises(ValueError, match="full_every"):
        tk.refresh(previous, {"briq": settings(sandbox, "briq")}, full_every="soon")
    with pytest.raises(TypeError):
        tk.refresh([1, 2, 3])


def test_silent_closings_are_caught_by_the_next_full_pull(make_sandbox):
    """A window closed with no new message is invisible to a refresh until full_every forces a full pull."""
    sandbox = make_sandbox(seed=15)
    with stopped_clocks(sandbox) as stamp:
        previous = full_pull(sandbox, "wassist")
        hour_ago = previous["fetched_at"] - pd.Timedelta(hours=1)
        open_quiet = previous[previous["window_open"].fillna(False) & ~previous["has_unread"].fillna(False)
                              & (previous["last_message_at"] < hour_ago)]
        quiet_id = open_quiet["conversation_id"].iloc[0]
        target = next(c for c in sandbox.conversations["wassist"] if c.id == quiet_id)
        target.last_inbound_at = target.last_inbound_at - pd.Timedelta(hours=30)
        sandbox.version += 1
        missed = tk.refresh(previous, {"wassist": settings(sandbox, "wassist")}, progress=False)
        # A day later (as far as the record says), the refresh pulls in full and sees it.
        previous.attrs["pulls"]["wassist"]["started_at"] = (stamp - pd.Timedelta(hours=24)).isoformat()
        caught = tk.refresh(previous, {"wassist": settings(sandbox, "wassist")}, progress=False)
        after = full_pull(sandbox, "wassist")
    row = missed.set_index("conversation_id").loc[target.id]
    assert bool(row["window_open"]) and bool(row["is_active"])  # documented: carried as it was
    assert not bool(after.set_index("conversation_id").loc[target.id, "window_open"])
    assert caught.attrs["refresh"]["wassist"]["full_pull"] is True
    assert_same(caught, after)


def test_channel_names_given_once_stay_through_refreshes_and_full_pulls(make_sandbox):
    """Briq sends sender ids only: names given with tk.name_channels must survive a refresh."""
    sandbox = make_sandbox(seed=12)
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, "briq")
        names = {sender: f"Desk {number}" for number, sender in
                 enumerate(sorted(previous["channel_id"].dropna().unique()))}
        named = tk.name_channels(previous, names)
        sandbox.churn(40, VISIBLE_CHURN)
        refreshed = tk.refresh(named, {"briq": settings(sandbox, "briq")}, progress=False)
        after = full_pull(sandbox, "briq")
        stale = refreshed.copy()
        stale.attrs = json.loads(json.dumps(refreshed.attrs))
        record = stale.attrs["pulls"]["briq"]
        record["full_pull_at"] = (pd.Timestamp(record["started_at"]) - pd.Timedelta(hours=30)).isoformat()
        pulled_again = tk.refresh(stale, {"briq": settings(sandbox, "briq")}, progress=False)
    assert refreshed.attrs["refresh"]["briq"]["rows_fetched"] > 0
    assert pulled_again.attrs["refresh"]["briq"]["full_pull"] is True
    for frame in (refreshed, pulled_again):
        expected = frame["channel_id"].astype(object).map(names)
        assert frame["channel_name"].astype(object).tolist() == expected.tolist()
    # Every other field is what a full pull returns.
    assert_same(refreshed.drop(columns="channel_name"), after.drop(columns="channel_name"))


def test_a_failing_refresh_leaves_no_request_in_flight(make_sandbox):
    """The unread read fails at once while the activity read beside it is slow: tk.refresh
    raises only once the activity read has ended, so nothing it started still talks to the server."""
    sandbox = make_sandbox(seed=13)
    previous = full_pull(sandbox, "wassist")
    lock = threading.Lock()
    in_flight = [0]

    class Session(requests.Session):
        def get(self, url, **kwargs):
            if "hasUnread=true" in url:
                refused = requests.Response()
                refused.status_code, refused._content = 401, b'{"detail": "no"}'
                refused._content_consumed = True
                refused.headers["Content-Type"] = "application/json"
                return refused
            with lock:
                in_flight[0] += 1
            try:
                time.sleep(0.3)  # a slow activity read
                return super().get(url, **kwargs)
            finally:
                with lock:
                    in_flight[0] -= 1

    with pytest.raises(tk.AuthenticationError):
        tk.refresh(previous, {"wassist": {**settings(sandbox, "wassist"), "session": Session()}},
                   progress=False)
    assert in_flight[0] == 0


def test_a_refresh_with_two_refused_keys_names_both(make_sandbox):
    sandbox = make_sandbox(seed=4, wassist_conversations=60, briq_conversations=60)
    previous = tk.load_conversations({name: settings(sandbox, name) for name in BOTH})
    wrong = {name: {**settings(sandbox, name), "api_key": f"wrong-{name}"} for name in BOTH}
    with pytest.raises(tk.AuthenticationError) as caught:
        tk.refresh(previous, wrong, progress=False)
    assert caught.value.provider == "wassist" and caught.value.status == 401
    assert list(caught.value.also_refused) == ["briq"] and "BRIQ_API_KEY" in caught.value.__notes__[0]


# -- the merge made while the sweeps are on the wire ----------------------------------------


def merge_parts(make_sandbox, provider):
    """A pulled frame and, from it, what a refresh's reads could bring: the first passes of
    the activity read and the unread list, and a sweep that reads some unread rows again
    later, unchanged but for the moments of the fetch."""
    from toolkit.providers import PROVIDERS

    sandbox = make_sandbox(seed=21)
    rows = full_pull(sandbox, provider)
    record = rows.attrs["pulls"][provider]
    rows = pd.DataFrame(rows, copy=True)
    rows.attrs = {}
    owner = PROVIDERS[provider]
    params = dict(record["filters"])
    listed = {name: value for name, value in params.items() if name not in owner.moved_by_activity}
    first_read = pd.Timestamp(record["finished_at"]) + pd.Timedelta(minutes=5)
    active = rows.head(6).copy()
    active["last_message_at"] = first_read - pd.Timedelta(seconds=30)  # new activity
    active["fetched_at"] = first_read
    unread = rows[rows["has_unread"].fillna(False)].head(12).copy()
    unread["fetched_at"] = first_read
    if provider == "wassist":
        unread["has_unread"] = pd.array([pd.NA] * len(unread), dtype="boolean")  # as parsed
        active["has_unread"] = pd.array([pd.NA] * len(active), dtype="boolean")
    again = unread.tail(4).copy()
    again["fetched_at"] = first_read + pd.Timedelta(seconds=2)
    again["window_expires_at"] = again["window_expires_at"] + pd.Timedelta(milliseconds=300)
    return owner, params, listed, rows.reset_index(drop=True), active, unread, again, first_read


def merge_of(owner, params, listed, active, unread, rows, as_of):
    """What a refresh merges: the previous ``rows`` as carried as of ``as_of``, with the lists' rows."""
    from toolkit._refresh import _CarriedSide, _merge_of

    return _merge_of(owner, params, listed, active, unread, _CarriedSide.of(owner, rows, params, as_of))


@pytest.mark.parametrize("provider", ["wassist", "briq"])
@pytest.mark.parametrize("nameless", [False, True])
def test_a_merge_made_beside_the_sweeps_is_the_merge_made_after_them(make_sandbox, provider, nameless):
    owner, params, listed, rows, active, unread, again, first_read = merge_parts(make_sandbox, provider)
    if nameless:
        # Rows without an id (a server that sends some): every one is kept, none matched.
        active.loc[active.index[:2], "conversation_id"] = pd.NA
    everything = pd.concat([unread, again], ignore_index=True)
    early = merge_of(owner, params, listed, active, unread, rows, first_read).prepared(
        {"activity": active, "unread": unread})
    end = first_read + pd.Timedelta(seconds=3)
    confirmed = early.confirmed(end, {"activity": active, "unread": everything})
    after = merge_of(owner, params, listed, active, everything, rows, end)
    assert confirmed is not None
    pd.testing.assert_frame_equal(confirmed.frame, after.frame)
    # The rows read again carry their later fetch; carried rows the moment of the end.
    assert (confirmed.frame["fetched_at"] == end).sum() == after.rows_carried
    assert confirmed.frame["fetched_at"].eq(first_read + pd.Timedelta(seconds=2)).sum() == len(again)


def test_a_first_pass_that_read_a_page_twice_still_confirms_its_merge(make_sandbox):
    """A repair round re-reads pages: the first pass then holds some conversations twice."""
    owner, params, listed, rows, active, unread, again, first_read = merge_parts(make_sandbox, "briq")
    unread = pd.concat([unread, unread.tail(3)], ignore_index=True)
    everything = pd.concat([unread, again], ignore_index=True)
    early = merge_of(owner, params, listed, active, unread, rows, first_read).prepared(
        {"activity": active, "unread": unread})
    end = first_read + pd.Timedelta(seconds=3)
    confirmed = early.confirmed(end, {"activity": active, "unread": everything})
    assert confirmed is not None
    pd.testing.assert_frame_equal(confirmed.frame,
                                  merge_of(owner, params, listed, active, everything, rows, end).frame)


@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_a_carried_window_closing_before_the_end_is_closed_as_a_merge_at_the_end_closes_it(make_sandbox,
                                                                                            provider):
    owner, params, listed, rows, active, unread, again, first_read = merge_parts(make_sandbox, provider)
    end = first_read + pd.Timedelta(seconds=3)
    # Carried conversations whose windows close between the merge and the end of the reads,
    # and one that stays open past the end.
    carried = rows.index[~rows["conversation_id"].isin(pd.concat([active, unread])["conversation_id"])]
    closing, staying = carried[:3], carried[3]
    rows.loc[carried[:4], ["window_open", "is_active"]] = True
    rows.loc[closing, "window_expires_at"] = first_read + pd.Timedelta(seconds=1)
    rows.loc[staying, "window_expires_at"] = end + pd.Timedelta(seconds=1)
    everything = pd.concat([unread, again], ignore_index=True)
    early = merge_of(owner, params, listed, active, unread, rows, first_read).prepared(
        {"activity": active, "unread": unread})
    confirmed = early.confirmed(end, {"activity": active, "unread": everything})
    assert confirmed is not None
    after = merge_of(owner, params, listed, active, everything, rows, end)
    pd.testing.assert_frame_equal(confirmed.frame, after.frame)
    ids = rows.loc[carried[:4], "conversation_id"]
    merged = confirmed.frame.set_index("conversation_id").loc[ids]
    assert merged["window_open"].tolist() == [False, False, False, True]
    # Wassist's is_active is its window (PROVIDERS.md); Briq's is the provider's own flag.
    still_active = [False, False, False, True] if provider == "wassist" else [True] * 4
    assert merged["is_active"].tolist() == still_active


@pytest.mark.parametrize(("provider", "window_filter"), [("wassist", {"status": "active"}),
                                                         ("briq", {"status": "open"})])
def test_a_carried_window_closing_under_a_filter_on_open_windows_sends_the_refresh_to_a_merge_of_everything(
        make_sandbox, provider, window_filter):
    """The filter lets such a conversation go: the merge made beside the sweeps holds it."""
    owner, params, listed, rows, active, unread, again, first_read = merge_parts(make_sandbox, provider)
    params = {**params, **window_filter}
    listed = {name: value for name, value in params.items() if name not in owner.moved_by_activity}
    end = first_read + pd.Timedelta(seconds=3)
    carried = rows.index[~rows["conversation_id"].isin(pd.concat([active, unread])["conversation_id"])]
    rows.loc[carried[:3], ["window_open", "is_active"]] = True
    rows.loc[carried[:3], "window_expires_at"] = first_read + pd.Timedelta(seconds=1)
    everything = pd.concat([unread, again], ignore_index=True)
    early = merge_of(owner, params, listed, active, unread, rows, first_read).prepared(
        {"activity": active, "unread": unread})
    assert early.frame["conversation_id"].isin(rows.loc[carried[:3], "conversation_id"]).sum() == 3
    assert early.confirmed(end, {"activity": active, "unread": everything}) is None
    after = merge_of(owner, params, listed, active, everything, rows, end)
    assert not after.frame["conversation_id"].isin(rows.loc[carried[:3], "conversation_id"]).any()


@pytest.mark.parametrize("change", ["a value", "a conversation the first pass did not read"])
def test_a_sweep_that_brings_news_sends_the_refresh_to_a_merge_of_everything(make_sandbox, change):
    owner, params, listed, rows, active, unread, again, first_read = merge_parts(make_sandbox, "briq")
    end = first_read + pd.Timedelta(seconds=3)
    if change == "a value":
        again["unread_count"] = again["unread_count"] + 1
    else:
        again = pd.concat([again, rows[~rows["conversation_id"].isin(unread["conversation_id"])].head(1)],
                          ignore_index=True)
    everything = pd.concat([unread, again], ignore_index=True)
    early = merge_of(owner, params, listed, active, unread, rows, first_read).prepared(
        {"activity": active, "unread": unread})
    assert early.confirmed(end, {"activity": active, "unread": everything}) is None


@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_traffic_during_a_refresh_is_merged_after_the_sweeps_and_caught_up_next_time(make_sandbox, provider):
    sandbox = make_sandbox(seed=22)
    previous = full_pull(sandbox, provider)
    # New messages while the refresh reads (no new threads: the count then stays, with no
    # fall back to a full pull): its sweeps find them, so the merge made beside them does
    # not stand and everything read is merged again.
    sandbox.configure(churn_rate=3.0, churn_kinds=("message",))
    during = tk.refresh(previous, {provider: settings(sandbox, provider)}, progress=False)
    sandbox.configure(churn_rate=0.0)
    assert during.attrs["refresh"][provider]["full_pull"] is False
    assert during.attrs["pulls"][provider]["merged_beside_sweeps"] is False
    assert not during["conversation_id"].duplicated().any()
    caught_up = tk.refresh(during, {provider: settings(sandbox, provider)}, progress=False)
    after = full_pull(sandbox, provider)
    # Read on the wall clock (the traffic needs it running): the fields that do not depend
    # on the moment of the fetch match.
    assert_same(caught_up, after, MOMENT_FREE)


def test_a_move_in_briqs_unread_list_while_it_is_read_is_caught_by_the_activity_sweep(make_sandbox):
    """Briq's unread list is part of the list the activity read reads from the top: its rows
    move only with new activity, which the activity read's sweep, sent once the unread list's
    first pass is in, catches. The unread list has no sweep of its own, and misses nothing."""
    sandbox = make_sandbox(seed=24)
    previous = full_pull(sandbox, "briq")
    unread = previous[previous["has_unread"].fillna(False)]
    # Pages small enough that the unread list takes more waves than its request slots hold.
    page_size = max(2, len(unread) // 20)
    first_back: list[str] = []  # the ids of the unread list's first page back, in its order
    moved = threading.Event()
    lock = threading.Lock()

    class Session(requests.Session):
        def get(self, url, **kwargs):
            if "status=unread" in url:
                time.sleep(0.05)  # a slow unread list: the activity read's first pass ends first
                with lock:
                    if first_back and not moved.is_set():
                        # Read already, it now moves up: to the top, read already too when the
                        # list is read top-down; left to the activity read when bottom-up.
                        sandbox.message("briq", first_back[1])
                        moved.set()
            answer = super().get(url, **kwargs)
            if "status=unread" in url:
                with lock:
                    if not first_back:
                        first_back.extend(item["id"] for item in answer.json()["data"]["items"])
            return answer

    refreshed = tk.refresh(previous, {"briq": {**settings(sandbox, "briq"), "page_size": page_size,
                                               "session": Session()}}, progress=False)
    after = full_pull(sandbox, "briq")
    assert moved.is_set()
    mover = first_back[1]
    passes = refreshed.attrs["pulls"]["briq"]["passes"]
    assert "activity sweep 1" in passes and not any(name.startswith("unread sweep") for name in passes)
    assert refreshed.attrs["refresh"]["briq"]["full_pull"] is False
    assert_same(refreshed, after, MOMENT_FREE)
    assert refreshed.loc[refreshed["conversation_id"] == mover, "last_message_at"].iloc[0] > previous.loc[
        previous["conversation_id"] == mover, "last_message_at"].iloc[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_briqs_unread_list_is_read_only_down_from_the_conversations_the_activity_read_holds(make_sandbox,
                                                                                           seed):
    """Briq's unread list begins with the unread conversations active since the activity read's
    start, which that read holds: read bottom-up, the unread list stops where they begin."""
    sandbox = make_sandbox(seed=seed, briq_conversations=600)
    small = {**settings(sandbox, "briq"), "page_size": 5, "max_workers": 4}  # a wave: 20 rows
    with stopped_clocks(sandbox):
        previous = tk.load_conversations({"briq": {**small, "progress": False}})
        read = previous[~previous["has_unread"].fillna(False)]
        for conversation_id in read["conversation_id"].tail(30):  # the customers write again
            sandbox.message("briq", conversation_id)
        sandbox.churn(20, VISIBLE_CHURN)
        refreshed = tk.refresh(previous, {"briq": small}, progress=False)
        after = tk.load_conversations({"briq": {**small, "progress": False}})
    assert_same(refreshed, after)
    unread = refreshed.attrs["pulls"]["briq"]["passes"]["unread"]
    since, _ = activity_since(previous.attrs["pulls"]["briq"])
    active_unread = int((after["has_unread"].fillna(False) & (after["last_message_at"] >= since)).sum())
    assert active_unread >= 30
    # The page it stopped at begins within those, with the overlap to spare; nothing above it was read.
    assert 0 < unread["rows_held_above"] <= active_unread - 1 - 1
    assert unread["pages"] < math.ceil(unread["total_last"] / 4)  # reading it whole: 4 new rows a page
    assert refreshed.attrs["refresh"]["briq"]["full_pull"] is False


@pytest.mark.parametrize("seed", SEEDS)
def test_briqs_unread_list_read_bottom_up_under_live_traffic_misses_no_conversation_left_alone(make_sandbox,
                                                                                               seed):
    """New messages while the unread list is read bottom-up land on its top and push the rows
    below down, past pages read already: the conversations nothing happened to must come out
    exactly as a full pull taken afterwards has them (a slipped one would be carried as read)."""
    sandbox = make_sandbox(seed=seed, briq_conversations=600)
    small = {**settings(sandbox, "briq"), "page_size": 5, "max_workers": 4}
    previous = tk.load_conversations({"briq": {**small, "progress": False}})
    for conversation_id in previous[~previous["has_unread"].fillna(False)]["conversation_id"].tail(30):
        sandbox.message("briq", conversation_id)  # a top for the activity read to hold
    before = len(sandbox.events)
    sandbox.configure(churn_rate=0.5, churn_kinds=("message",))
    during = tk.refresh(previous, {"briq": small}, progress=False)
    sandbox.configure(churn_rate=0.0)
    touched = {event[2] for event in sandbox.events[before:] if event[1] == "briq"}
    after = tk.load_conversations({"briq": {**small, "progress": False}})
    assert len(touched) >= 10 and during.attrs["refresh"]["briq"]["full_pull"] is False
    alone = ~during["conversation_id"].isin(touched)
    assert_same(during[alone], after[~after["conversation_id"].isin(touched)], MOMENT_FREE)
    assert during.loc[alone, "has_unread"].sum() == after.loc[
        ~after["conversation_id"].isin(touched) & after["has_unread"].fillna(False)].shape[0]


@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_a_count_served_a_moment_apart_from_the_reads_is_asked_again_not_pulled_in_full(
        make_sandbox, monkeypatch, provider):
    from toolkit import _refresh

    sandbox = make_sandbox(seed=23)
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, provider)
        sandbox.churn(20, VISIBLE_CHURN)
        counted = []
        real_total = _refresh._Reader.total

        def total(self, params):
            # The first count misses a thread that arrived just after it was served; the
            # reads saw that thread (Briq's is told by its activity read, then asked again).
            answer = real_total(self, params)
            counted.append(answer)
            return answer - 1 if len(counted) == 1 and provider == "wassist" else answer

        monkeypatch.setattr(_refresh._Reader, "total", total)
        if provider == "briq":
            real_last = _refresh._last_total
            monkeypatch.setattr(_refresh, "_last_total", lambda reader, name: real_last(reader, name) - 1)
        refreshed = tk.refresh(previous, {provider: settings(sandbox, provider)}, progress=False)
        after = full_pull(sandbox, provider)
    info = refreshed.attrs["refresh"][provider]
    assert info["full_pull"] is False, info["reason"]
    assert len(counted) == 2 if provider == "wassist" else len(counted) == 1  # the count asked again
    assert_same(refreshed, after)


def test_wassists_activity_read_leaves_the_unread_conversations_to_the_unread_list(make_sandbox):
    sandbox = make_sandbox(seed=24)
    previous = full_pull(sandbox, "wassist")
    sandbox.churn(40, VISIBLE_CHURN)
    before = len(sandbox.list_requests("wassist"))
    refreshed = tk.refresh(previous, {"wassist": settings(sandbox, "wassist")}, progress=False)
    queries = [record.params for record in sandbox.list_requests("wassist")[before:]]
    activity = [params for params in queries
                if "lastMessageAfter" in params and params.get("hasUnread") != "true"]
    # Every activity page (and its sweep) asked only for conversations without unread messages.
    assert activity and all(params.get("hasUnread") == "false" for params in activity)
    after = full_pull(sandbox, "wassist")
    assert_same(refreshed, after, MOMENT_FREE)


def test_an_activity_read_beside_a_long_unread_list_asks_for_no_page_past_its_end(make_sandbox):
    """Beside an unread list that takes several waves, the activity read has time to grow
    from one page: it guesses none ahead, each of which would be a request for nothing
    taken from Wassist's budget."""
    sandbox = make_sandbox(seed=25)
    previous = full_pull(sandbox, "wassist")
    page_size = max(2, int(previous["has_unread"].sum()) // 20)  # the unread list: more than a wave
    answered = previous.loc[~previous["has_unread"].fillna(False), "conversation_id"].head(2)
    for conversation_id in answered:  # new messages, read at once: the activity read's rows
        sandbox.message("wassist", conversation_id)
        sandbox.read("wassist", conversation_id)
    refreshed = tk.refresh(previous, {"wassist": {**settings(sandbox, "wassist"), "page_size": page_size}},
                           progress=False)
    after = full_pull(sandbox, "wassist")
    passes = refreshed.attrs["pulls"]["wassist"]["passes"]
    assert passes["unread"]["pages"] > 16
    assert passes["activity"]["pages"] == 1
    assert_same(refreshed, after, MOMENT_FREE)
    assert set(answered) <= set(refreshed.loc[~refreshed["has_unread"].fillna(True), "conversation_id"])


def test_unread_rows_active_lately_do_not_make_wassists_activity_read_guess_ahead(make_sandbox):
    """Wassist's activity read leaves unread conversations to the unread list: unread rows
    active since its start say nothing of its length, and must not make it guess pages."""
    sandbox = make_sandbox(seed=26)
    for conversation in sandbox.conversations["wassist"][:12]:
        sandbox.message("wassist", conversation.id)  # recent activity, now unread
    previous = full_pull(sandbox, "wassist")
    refreshed = tk.refresh(previous, {"wassist": {**settings(sandbox, "wassist"), "page_size": 2}},
                           progress=False)
    passes = refreshed.attrs["pulls"]["wassist"]["passes"]
    assert passes["activity"]["pages"] == 1
    assert refreshed.attrs["refresh"]["wassist"]["full_pull"] is False


@pytest.mark.parametrize("provider", ["wassist", "briq"])
def test_a_previous_frame_sorted_otherwise_by_its_user_still_refreshes_to_a_full_pull(make_sandbox, provider):
    # The merge places fetched rows among carried ones by the pull's order; a frame sorted
    # by its user another way is merged by sorting everything again.
    sandbox = make_sandbox(seed=4)
    with stopped_clocks(sandbox):
        previous = full_pull(sandbox, provider)
        resorted = previous.sort_values(["contact_name", "conversation_id"], na_position="first")
        resorted.attrs = previous.attrs
        sandbox.churn(60, VISIBLE_CHURN)
        refreshed = tk.refresh(resorted, {provider: settings(sandbox, provider)}, progress=False)
        after = full_pull(sandbox, provider)
    assert refreshed.attrs["refresh"][provider]["full_pull"] is False
    assert_same(refreshed, after)


def _frame_of_rows(*rows: tuple) -> pd.DataFrame:
    """A frame in the toolkit's columns and dtypes, one tuple of values per row."""
    return pd.DataFrame({name: pd.Series([row[place] for row in rows], dtype=dtype)
                         for place, (name, dtype) in enumerate(COLUMNS.items())})


def test_the_merged_frame_holds_the_rows_chosen_from_both_parts_as_putting_them_end_to_end_would():
    at = pd.Timestamp("2026-11-30 10:00", tz="UTC")
    first = _frame_of_rows(
        ("briq", "f1", "+255700000001", "Asha", "s1", True, pd.NA, True, 2, at, True, at, at, "Sales"),
        ("wassist", None, None, None, None, pd.NA, False, False, pd.NA, pd.NaT, pd.NA, pd.NaT, at, None))
    second = _frame_of_rows(
        ("wassist", "s1", "+255700000002", None, "a1", False, True, False, 0, at, False, pd.NaT, at, None),
        ("briq", "s2", None, "Juma", "s2", pd.NA, pd.NA, pd.NA, pd.NA, pd.NaT, pd.NA, pd.NaT, pd.NaT, "Ops"),
        ("briq", "s3", "+255700000003", "Neema", None, True, pd.NA, True, 7, at, True, at, at, None),
        ("wassist", "s4", None, "", "a2", True, False, False, 0, at, True, at, at, "Support"))
    # Text in several chunks, as a pull's frame holds it (one per batch of pages).
    second = pd.concat([second.iloc[:2], second.iloc[2:]], ignore_index=True)
    assert second["conversation_id"].array.__arrow_array__().num_chunks == 2
    both = pd.concat([first, second], ignore_index=True)
    for chosen in ([4, 0, 2, 1], [0, 1], [3, 4, 5], [5, 2, 0, 3, 4, 1], []):
        chosen = np.array(chosen, dtype=np.intp)
        expected = both.take(chosen).reset_index(drop=True)
        pd.testing.assert_frame_equal(_taken_from_two(first, second, chosen), expected)
    nothing_fetched = _taken_from_two(first.iloc[:0], second, np.array([2, 0]))
    pd.testing.assert_frame_equal(nothing_fetched, second.take([2, 0]).reset_index(drop=True))
    # A previous frame whose provider categories a user reordered (the same dtype to pandas)
    # merges into the schema's order, as a pull gives it.
    reordered = second.assign(provider=second["provider"].cat.reorder_categories(["briq", "wassist"]))
    merged = _taken_from_two(first, reordered, np.array([4, 0, 2, 1]))
    assert list(merged["provider"].cat.categories) == list(COLUMNS["provider"].categories)
    pd.testing.assert_frame_equal(merged, both.take([4, 0, 2, 1]).reset_index(drop=True))


def test_a_refresh_without_a_key_says_how_to_give_it_one(make_sandbox, monkeypatch):
    sandbox = make_sandbox()
    previous = full_pull(sandbox, "wassist")
    monkeypatch.delenv("WASSIST_API_KEY", raising=False)
    # refresh takes keys in providers=, as load_conversations does: the message says so.
    with pytest.raises(tk.AuthenticationError, match=r"providers=\{'wassist': \{'api_key': \.\.\.\}\} to "
                                                      r"tk\.load_conversations or tk\.refresh"):
        tk.refresh(previous, {"wassist": {"base_url": sandbox.base_url, "rate_limit": None,
                                          "progress": False}})

