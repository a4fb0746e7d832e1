"""Hostile or broken servers end in a correct frame or a typed error, quickly."""

from __future__ import annotations

import pytest

import toolkit as tk

from .helpers import FAST_RETRY, briq, wassist


def test_phantom_total_with_empty_pages_ends_with_the_rows_that_exist(make_sandbox):
    sandbox = make_sandbox(hostile="phantom-total", briq_conversations=300, wassist_conversations=300)
    # Eight pages in flight: a pass costs its first page and at most one round of empty ones.
    frame = briq(sandbox, page_size=100, max_workers=8)
    assert len(frame) == 100
    assert len(sandbox.list_requests("briq")) < 30
    frame = wassist(sandbox, page_size=100, has_unread=True, max_workers=8)
    assert len(sandbox.list_requests("wassist")) < 30


@pytest.mark.parametrize("load", [briq, lambda s, **k: wassist(s, has_unread=False, **k)])
def test_server_ignoring_offset_is_a_format_error(make_sandbox, load):
    sandbox = make_sandbox(hostile="same-page", briq_conversations=500, wassist_conversations=500)
    with pytest.raises(tk.ResponseFormatError, match="offset"):
        load(sandbox, page_size=50)
    assert len(sandbox.list_requests()) < 40


def test_pages_larger_than_asked_give_every_row_once(make_sandbox):
    sandbox = make_sandbox(hostile="oversized-pages", briq_conversations=500, wassist_conversations=500)
    frame = briq(sandbox, page_size=50)
    assert frame["conversation_id"].is_unique and len(frame) == 500
    frame = wassist(sandbox, page_size=50)
    assert frame["conversation_id"].is_unique and len(frame) == 500


def test_next_links_elsewhere_are_never_followed(make_sandbox):
    elsewhere = make_sandbox()
    sandbox = make_sandbox(hostile="next-elsewhere", elsewhere=elsewhere.base_url, wassist_conversations=400)
    frame = wassist(sandbox, page_size=50)
    assert len(frame) == 400
    assert elsewhere.list_requests() == []


@pytest.mark.parametrize("scripted", ["non-utf8", "huge"])
def test_undecodable_or_huge_bodies_are_format_errors(sandbox, scripted):
    sandbox.force(scripted)
    with pytest.raises(tk.ResponseFormatError):
        wassist(sandbox, has_unread=True) if scripted == "huge" else briq(sandbox)


def test_huge_body_limit_is_enforced_before_reading_everything(sandbox):
    from toolkit._http import HttpClient

    sandbox.force("huge")
    client = HttpClient("wassist", sandbox.base_url, sandbox.config.wassist_key, retry=FAST_RETRY,
                        max_body_bytes=1024 * 1024)
    with pytest.raises(tk.ResponseFormatError, match="larger than"):
        client.get_json("/api/v1/conversations/")


def test_wrong_envelope_on_wassist_is_a_format_error(sandbox):
    sandbox.force("wrong-envelope")
    with pytest.raises(tk.ResponseFormatError, match="results"):
        wassist(sandbox, has_unread=True)
