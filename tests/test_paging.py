"""The offset puller on its own, with a list served from memory (no HTTP needed to see it)."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

import toolkit as tk
from toolkit._http import HttpClient
from toolkit._paging import OffsetPuller, Page, PageShape
from toolkit.providers import PROVIDERS
from toolkit.providers._load import ListReader
from toolkit.providers._provider import ListQuery, PullOptions
from toolkit.providers.briq import OlderThan


def serve(rows: list[dict]):
    def fetch(offset: int, limit: int) -> Page:
        records = [dict(row) for row in rows[offset:offset + limit]]
        keys = [(row["id"], str(row["age"])) for row in records]
        return Page(offset, limit, records, keys, len(rows), None, pd.Timestamp.now(tz="UTC"))
    return fetch


def test_a_page_once_converted_still_ends_the_list_only_where_its_rows_did():
    """Pages drop their rows once digested; the caller's end test must not see them empty."""
    rows = [{"id": f"c{number}", "age": number} for number in range(1000)]
    digested: list[int] = []

    def older_than_500(page: Page) -> bool:  # as the Briq sweep asks: rows older than the pull?
        return not page.records or page.records[-1]["age"] >= 500

    puller = OffsetPuller(serve(rows), provider="test", page_size=100, max_workers=4, is_last=older_than_500,
                          digest=lambda pages: digested.extend(page.offset for page in pages), digest_batch=1)
    pages = puller.pull()
    assert all(page.records == [] for page in pages)  # released after digesting
    early = [page for page in pages if page.offset + page.size <= 500]
    assert early and not any(PageShape(100, 100).ends_at(page) for page in early)
    assert sorted(digested) == sorted(page.offset for page in pages)
    covered = {number for page in pages for number in range(page.offset, page.offset + page.size)}
    assert set(range(501)) <= covered


def test_speculative_first_wave_covers_the_list_without_gaps():
    rows = [{"id": f"c{number}", "age": number} for number in range(1234)]
    collected: list[dict] = []

    def keep(pages: list[Page]) -> None:
        for page in pages:
            collected.extend(page.records)

    puller = OffsetPuller(serve(rows), provider="test", page_size=100, max_workers=8, speculate=True,
                          digest=keep)
    puller.pull()
    assert {row["id"] for row in collected} == {row["id"] for row in rows}
    assert puller.report.pages <= 14  # 1,234 rows at 96 new rows a page, nothing fetched twice


def test_a_slow_page_does_not_hold_up_the_others():
    """Requests stay in flight continuously: no wave waits for its slowest page."""
    rows = [{"id": f"c{number}", "age": number} for number in range(3000)]
    fetch = serve(rows)
    others_done = threading.Event()
    finished: list[int] = []
    lock = threading.Lock()

    def slow_second_page(offset: int, limit: int) -> Page:
        if offset == 99:  # a page of the opening wave (pages overlap by one row)
            others_done.wait(timeout=10)  # released once many later pages arrived
        page = fetch(offset, limit)
        with lock:
            finished.append(offset)
            if len(finished) >= 12:
                others_done.set()
        return page

    puller = OffsetPuller(slow_second_page, provider="test", page_size=100, max_workers=4, speculate=True)
    puller.pull()
    assert others_done.is_set()
    assert finished.index(99) >= 11  # eleven pages finished while it was in flight


def test_pages_keep_arriving_while_a_batch_is_converted():
    rows = [{"id": f"c{number}", "age": number} for number in range(3000)]
    fetch = serve(rows)
    fetched = threading.Semaphore(0)
    waited: list[bool] = []

    def counting(offset: int, limit: int) -> Page:
        page = fetch(offset, limit)
        fetched.release()
        return page

    def slow_digest(pages: list[Page]) -> None:
        if not waited:  # the first batch: requests must go on meanwhile
            waited.append(all(fetched.acquire(timeout=10) for _ in range(12)))

    OffsetPuller(counting, provider="test", page_size=100, max_workers=4, digest=slow_digest,
                 digest_batch=1).pull()
    assert waited == [True]


def test_progress_is_reported_from_the_calling_thread_and_never_goes_back():
    rows = [{"id": f"c{number}", "age": number} for number in range(2000)]
    calls: list[tuple[str, int, int | None]] = []

    def on_page(done: int, planned: int | None) -> None:
        calls.append((threading.current_thread().name, done, planned))

    OffsetPuller(serve(rows), provider="test", page_size=100, max_workers=8, speculate=True,
                 on_page=on_page).pull()
    assert {name for name, _, _ in calls} == {threading.current_thread().name}
    assert [done for _, done, _ in calls] == list(range(1, len(calls) + 1))
    planned = [total for _, _, total in calls if total is not None]
    assert planned == sorted(planned) and planned[-1] == len(calls) == 21  # 1 + ceil(1900 / 96)


def test_a_failed_request_ends_the_pass_with_its_error_once_the_others_finished():
    rows = [{"id": f"c{number}", "age": number} for number in range(3000)]
    fetch = serve(rows)
    in_flight = [0]
    lock = threading.Lock()

    def failing(offset: int, limit: int) -> Page:
        with lock:
            in_flight[0] += 1
        try:
            if offset == 5 * PageShape(100, 100, lean=True).stride:  # a page of the chain
                raise tk.ApiError("refused", provider="test")
            return fetch(offset, limit)
        finally:
            with lock:
                in_flight[0] -= 1

    with pytest.raises(tk.ApiError, match="refused"):
        OffsetPuller(failing, provider="test", page_size=100, max_workers=4).pull()
    assert in_flight[0] == 0


def test_a_list_with_an_end_test_starts_slow_and_grows_to_the_whole_crew():
    """``opening_workers``: few requests at first, one more slot with every page that arrives."""
    rows = [{"id": f"c{number}", "age": number} for number in range(5000)]
    fetch = serve(rows)
    lock = threading.Lock()
    in_flight = [0]
    peaks: list[int] = []  # requests in flight when each request was sent

    def counted(offset: int, limit: int) -> Page:
        with lock:
            in_flight[0] += 1
            peaks.append(in_flight[0])
        try:
            threading.Event().wait(0.02)  # a round trip, so that requests overlap
            return fetch(offset, limit)
        finally:
            with lock:
                in_flight[0] -= 1

    def older_than(age: int):
        return lambda page: not page.records or page.records[-1]["age"] >= age

    short = OffsetPuller(counted, provider="test", page_size=100, max_workers=8, opening_workers=2,
                         is_last=older_than(150))
    short.pull()
    # Page 0 alone (its size is unknown), then a few at once: a 2-page read wastes little ...
    assert max(peaks) <= 3 and short.report.pages <= 2 + 4
    peaks.clear()
    whole_crew = OffsetPuller(counted, provider="test", page_size=100, max_workers=8, is_last=older_than(150))
    whole_crew.pull()
    # ... where the whole crew at once sends a page per slot beyond the end.
    assert max(peaks) == 8 and whole_crew.report.pages > short.report.pages
    peaks.clear()
    long = OffsetPuller(counted, provider="test", page_size=100, max_workers=8, opening_workers=2,
                        is_last=older_than(4000))
    long.pull()
    assert max(peaks) == 8  # the whole crew once enough pages came back
    assert max(peaks[:3]) <= 3  # but not at the start
    # Row 4000 is on the 42nd page (96 new rows a page); past it, about one crew's worth of pages.
    assert long.report.pages <= 42 + 8 + 1


@pytest.mark.parametrize("foreseen_long", [False, True])
def test_a_reader_opens_a_list_with_an_end_test_wide_only_when_it_foresees_a_long_one(make_sandbox,
                                                                                    foreseen_long):
    """A refresh's activity read stops at an end test; when the previous frame says it fills a
    wave (``speculate``), its first requests leave together, else a few at first."""
    sandbox = make_sandbox(briq_conversations=3000, latency=0.05)
    lock = threading.Lock()
    in_flight = [0]
    peaks: list[int] = []  # requests in flight as each one left

    class CountingClient(HttpClient):
        def get_json(self, path, params=None):
            with lock:
                in_flight[0] += 1
                peaks.append(in_flight[0])
            try:
                return super().get_json(path, params)
            finally:
                with lock:
                    in_flight[0] -= 1

    provider = PROVIDERS["briq"]
    client = CountingClient("briq", sandbox.base_url, sandbox.config.briq_key, answers=provider)
    options = PullOptions(max_workers=8, progress=False)
    listed = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=False)
    oldest_wanted = listed["last_message_at"].iloc[1500]
    # Answers slow enough that eight requests are out before the first one comes back, also
    # when starting eight threads takes a busy machine longer than 50 ms.
    sandbox.configure(latency=0.3)
    peaks.clear()
    with ListReader(provider, client, options) as reader:
        reader.read(ListQuery(provider.params(), is_last=OlderThan(oldest_wanted)), "activity",
                    speculate=foreseen_long)
    if foreseen_long:
        assert peaks[:8] == [1, 2, 3, 4, 5, 6, 7, 8]  # the whole crew at once
    else:
        assert peaks[:2] == [1, 1]  # the first page alone: the list may end on it
    assert max(peaks) == 8  # the whole crew, once pages show the list goes on


def test_a_held_last_batch_waits_for_the_first_call_for_the_rows():
    rows = [{"id": f"c{number}", "age": number} for number in range(1000)]
    digested: list[int] = []
    puller = OffsetPuller(serve(rows), provider="test", page_size=100, max_workers=4, speculate=True,
                          digest=lambda pages: digested.extend(page.offset for page in pages),
                          digest_batch=4, hold_last_batch=True)
    pages = puller.pull()
    assert 0 < len(digested) < len(pages)  # the batches before the last were handed on as they filled
    assert any(page.records for page in pages)
    puller.wait_digested()
    assert sorted(digested) == sorted(page.offset for page in pages)
    assert not any(page.records for page in pages)


def test_a_caller_between_the_passes_goes_before_the_last_pages_are_parsed(make_sandbox, monkeypatch):
    """``read_complete`` hands the first pass's rows to ``after_first_pass`` (which may send
    a request of its own) before parsing its last pages; the rows it gives are every row."""
    sandbox = make_sandbox(briq_conversations=1500)
    provider = PROVIDERS["briq"]
    parsed: list[int] = []
    parse = provider.parse
    monkeypatch.setattr(provider, "parse", lambda records, *rest: (parsed.append(len(records)),
                                                                   parse(records, *rest))[1])
    seen: dict[str, int] = {}

    def between(rows_of) -> None:
        time.sleep(0.3)  # time enough for a batch handed on to be parsed
        seen["parsed before"] = sum(parsed)
        first = rows_of()
        seen["rows"], seen["conversations"] = len(first), first["conversation_id"].nunique()

    client = HttpClient("briq", sandbox.base_url, sandbox.config.briq_key, answers=provider)
    options = PullOptions(max_workers=4, page_size=100, progress=False)
    with ListReader(provider, client, options) as reader:
        reader.digest_batch = 4  # 16 pages: three batches handed on while pages arrive, one held
        rows = reader.read_complete("conversations", ListQuery(provider.params()), after_first_pass=between)
    assert seen["conversations"] == 1500
    assert 0 < seen["parsed before"] < seen["rows"]  # rows shared by neighbouring pages count twice
    assert rows["conversation_id"].nunique() == 1500
