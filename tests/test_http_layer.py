"""The toolkit's own HTTP connections: compressed and chunked bodies, kept-alive connections
a server closed, and HTTPS with the CA bundle the environment names."""

from __future__ import annotations

import socket
import ssl
import threading
import zlib
from datetime import timedelta

import pytest
import trustme

import toolkit as tk
from toolkit._http import HttpClient
from toolkit.sandbox import ENCODINGS, Sandbox, SandboxConfig

from .helpers import FAST_RETRY, briq

BRIQ_PATH = "/v1/whatsapp/conversations"


def without_arrival(frame):
    return frame.drop(columns=["fetched_at"]).reset_index(drop=True)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_compressed_or_chunked_pages_read_as_plain_ones(make_sandbox, encoding):
    sandbox = make_sandbox(briq_conversations=250)
    sandbox.freeze()
    plain = briq(sandbox, max_workers=1)
    sandbox.force(encoding, encoding)
    encoded = briq(sandbox, max_workers=1)
    served = [record.fault for record in sandbox.list_requests("briq")]
    assert served.count(encoding) == 2
    assert without_arrival(encoded).equals(without_arrival(plain))
    assert encoded.attrs["pull"]["retries"] == 0


def test_the_body_limit_counts_inflated_bytes(sandbox):
    sandbox.force("gzip")
    page = HttpClient("briq", sandbox.base_url, sandbox.config.briq_key, retry=FAST_RETRY).get_json(
        BRIQ_PATH, {"limit": 100, "offset": 0})
    packed = zlib.compress(repr(page.payload).encode(), 6)
    limit = 20_000
    # Compressed, the page fits within the limit; inflated, it does not.
    assert len(packed) < limit < len(repr(page.payload))
    sandbox.force("gzip")
    client = HttpClient("briq", sandbox.base_url, sandbox.config.briq_key, retry=FAST_RETRY,
                        max_body_bytes=limit)
    with pytest.raises(tk.ResponseFormatError, match="larger than"):
        client.get_json(BRIQ_PATH, {"limit": 100, "offset": 0})


EMPTY_PAGE = b'{"items": [], "total": 0}'


def answer_with(body: bytes, length: int | None = None) -> bytes:
    """A kept-alive 200 carrying ``body``; ``Content-Length`` says ``length`` (default: the truth)."""
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body) if length is None else length, body))


@pytest.fixture
def one_answer_server():
    """Starts servers that answer one request per connection with the given bytes, then close
    the connection without saying so, as servers do with idle connections; each server
    counts the connections it accepted and signals each one it closed."""
    listeners: list[socket.socket] = []

    def start(answer: bytes) -> tuple[str, list[int], threading.Semaphore]:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        accepted: list[int] = []
        closed = threading.Semaphore(0)

        def serve() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                accepted.append(1)
                with connection:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = connection.recv(4096)
                        if not chunk:
                            break
                        request += chunk
                    connection.sendall(answer)
                closed.release()

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}", accepted, closed

    yield start
    for listener in listeners:
        listener.close()


def test_a_kept_alive_connection_the_server_closed_is_replaced_without_a_retry(one_answer_server):
    base_url, accepted, closed = one_answer_server(answer_with(EMPTY_PAGE))
    client = HttpClient("briq", base_url, "some-key", retry=FAST_RETRY, pool_size=1)
    for _ in range(3):
        assert client.get_json(BRIQ_PATH).payload == {"items": [], "total": 0}
        assert closed.acquire(timeout=10)  # the server has closed the connection meanwhile
    assert len(accepted) == 3
    assert client.stats.as_dict()["retries"] == 0


def test_a_body_shorter_than_its_content_length_is_cut_short_even_when_it_parses(one_answer_server):
    # The bytes that arrived are valid JSON: only the length tells that some are missing.
    base_url, accepted, _ = one_answer_server(answer_with(EMPTY_PAGE, length=len(EMPTY_PAGE) + 50))
    client = HttpClient("briq", base_url, "some-key",
                        retry=tk.RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_max=0.01))
    with pytest.raises(tk.ApiError, match="body cut short"):
        client.get_json(BRIQ_PATH)
    assert len(accepted) == 3


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def tls_sandbox(certificate_authority):
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1").configure_cert(server_side)
    sandbox = Sandbox(SandboxConfig(briq_conversations=150, wassist_conversations=10), tls=server_side)
    with sandbox:
        yield sandbox


def test_https_with_the_ca_bundle_the_environment_names(tls_sandbox, certificate_authority, monkeypatch):
    assert tls_sandbox.base_url.startswith("https://")
    with certificate_authority.cert_pem.tempfile() as bundle:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
        frame = briq(tls_sandbox)
    assert len(frame) == 150 and frame["conversation_id"].is_unique


def test_https_to_a_server_whose_certificate_is_not_trusted_says_so_at_once(tls_sandbox):
    with pytest.raises(tk.ApiError, match="TLS handshake failed: CERTIFICATE_VERIFY_FAILED") as caught:
        briq(tls_sandbox, max_workers=1)
    assert "REQUESTS_CA_BUNDLE" in str(caught.value)
    assert caught.value.attempts == 1
    assert tls_sandbox.config.briq_key not in str(caught.value)
    assert tls_sandbox.list_requests() == []


def test_https_to_a_plain_http_server_says_so_at_once(sandbox):
    https = sandbox.base_url.replace("http://", "https://")
    with pytest.raises(tk.ApiError, match="does not speak HTTPS") as caught:
        tk.load_briq(sandbox.config.briq_key, https, progress=False, max_workers=1)
    assert caught.value.attempts == 1
    # The server failed, not a page: the message names the server, not a page's query.
    assert "offset" not in str(caught.value)


def test_the_earliest_server_date_is_kept_and_unreadable_ones_are_ignored():
    from toolkit._http import RequestStats

    stats = RequestStats()
    assert stats.as_dict()["server_time_first"] is None
    for text in ("Wed, 02 Dec 2026 06:00:05 GMT", "not a date", "", None,
                 "Wed, 02 Dec 2026 06:00:03 -0000", "Wed, 02 Dec 2026 08:00:09 +0200",
                 "Wed, 02 Dec 2026 06:00:07 GMT"):
        stats.note_server_date(text)
    # 08:00:09 +0200 is 06:00:09 UTC; "-0000" is read as UTC, as RFC 5322 says.
    assert stats.as_dict()["server_time_first"] == "2026-12-02T06:00:03+00:00"


def test_a_pull_records_the_servers_clock_from_its_date_header():
    with Sandbox(SandboxConfig(seed=3, briq_conversations=30, wassist_conversations=1)) as sandbox:
        # Two days behind our clock: the record must hold the server's, not ours.
        served = sandbox.freeze(sandbox.now() - timedelta(days=2))
        frame = briq(sandbox)
    first = frame.attrs["pull"]["server_time_first"]
    assert first == served.replace(microsecond=0).isoformat()
