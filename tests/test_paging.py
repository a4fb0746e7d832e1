"""The offset puller on its own, with a list served from memory (no HTTP needed to see it)."""

from __future__ import annotations

import pandas as pd

from toolkit._paging import OffsetPuller, Page


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
    assert early and not any(puller._ends_at(page, 100) for page in early)
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
