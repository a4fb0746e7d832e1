"""The toolkit's own HTTP/1.1 connection against a server that answers with scripted bytes.

Each expected value below is read off the bytes the server sends, as HTTP/1.1 (RFC 9112)
says a client must read them.
"""

from __future__ import annotations

import socket
import threading
from http.client import BadStatusLine, HTTPException, IncompleteRead, LineTooLong, RemoteDisconnected

import pytest

import toolkit as tk
from toolkit._wire import Answer, Connection

from .helpers import FAST_RETRY


class ScriptedServer:
    """Answers each request on a connection with the next answer of its script, as raw bytes.

    ``close_after`` lists the answers after which the server closes the connection.
    """

    def __init__(self, *answers: bytes, close_after: tuple[int, ...] = ()) -> None:
        self.answers = list(answers)
        self.close_after = set(close_after)
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        answered = 0
        while answered < len(self.answers):
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                pending = b""
                while answered < len(self.answers):
                    while b"\r\n\r\n" not in pending:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        pending += chunk
                    if b"\r\n\r\n" not in pending:
                        break
                    request, _, pending = pending.partition(b"\r\n\r\n")
                    self.requests.append(request + b"\r\n\r\n")
                    connection.sendall(self.answers[answered])
                    answered += 1
                    if answered - 1 in self.close_after:
                        break

    def connection(self) -> Connection:
        opened = Connection("127.0.0.1", self.port)
        opened.connect(timeout=10)
        return opened

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted():
    servers: list[ScriptedServer] = []

    def start(*answers: bytes, close_after: tuple[int, ...] = ()) -> ScriptedServer:
        servers.append(ScriptedServer(*answers, close_after=close_after))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def body_of(answer: Answer, piece: int = 7) -> bytes:
    """The whole body, read in small pieces so that reads cross chunk boundaries."""
    pieces = []
    while data := answer.read(piece):
        pieces.append(data)
    return b"".join(pieces)


def test_a_request_is_one_get_with_host_and_the_headers_given(scripted):
    server = scripted(b"HTTP/1.1 204 No Content\r\n\r\n")
    connection = server.connection()
    answer = connection.get("/v1/list?limit=100&offset=0", {"X-API-Key": "k-1", "Accept": "application/json"})
    assert answer.status == 204 and answer.complete and answer.read(10) == b""
    assert server.requests == [
        b"GET /v1/list?limit=100&offset=0 HTTP/1.1\r\n"
        b"Host: 127.0.0.1:%d\r\nX-API-Key: k-1\r\nAccept: application/json\r\n\r\n" % server.port]


def test_answers_with_a_length_keep_the_connection_for_the_next_request(scripted):
    server = scripted(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
                      b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond")
    connection = server.connection()
    first = connection.get("/a", {})
    assert body_of(first, 2) == b"first" and first.complete and not first.will_close
    second = connection.get("/b", {})
    assert body_of(second) == b"second" and not second.will_close
    assert server.connections == 1


def test_a_chunked_body_with_extensions_and_trailers(scripted):
    server = scripted(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5;name=value\r\nHello\r\n"
                      b"10\r\n, chunked world!\r\n"
                      b"0\r\nX-Trailer: yes\r\n\r\n",
                      b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    connection = server.connection()
    answer = connection.get("/", {})
    assert answer.headers.get("transfer-encoding") == "chunked"
    assert body_of(answer, 3) == b"Hello, chunked world!"
    assert answer.complete and not answer.will_close
    # The trailers were read to their end: the next answer on the connection reads cleanly.
    assert body_of(connection.get("/", {})) == b"ok"


def test_informational_answers_are_skipped(scripted):
    server = scripted(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                      b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody")
    answer = server.connection().get("/", {})
    assert answer.status == 200 and body_of(answer) == b"body" and answer.headers.get("Link") is None


def test_headers_by_any_case_repeated_ones_joined_folded_ones_continued(scripted):
    server = scripted(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nX-Request-Id: r-1\r\n"
                      b"Vary: Accept\r\nvary: Origin\r\nX-Long: first part\r\n  second part\r\n"
                      b"no colon here\r\nContent-Length: 0\r\n\r\n")
    answer = server.connection().get("/", {})
    assert answer.status == 429
    assert answer.headers.get("retry-after") == "7" and answer.headers.get("X-REQUEST-ID") == "r-1"
    assert answer.headers.get("Vary") == "Accept, Origin"
    assert answer.headers.get("X-Long") == "first part second part"
    assert answer.headers.get("no colon here") is None


def test_a_body_without_length_ends_with_the_connection(scripted):
    server = scripted(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"items\": []}",
                      close_after=(0,))
    answer = server.connection().get("/", {})
    assert answer.will_close
    assert body_of(answer) == b'{"items": []}' and answer.complete


@pytest.mark.parametrize(("head", "closes"), [
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", True),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", False),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n", True),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n", True),  # unreadable: the end delimits it
])
def test_whether_the_connection_ends_with_the_answer(scripted, head, closes):
    answer = scripted(head + b"ok", close_after=(0,)).connection().get("/", {})
    assert answer.will_close is closes
    assert body_of(answer) == b"ok"


@pytest.mark.parametrize(("answer", "error"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly this", IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n", IncompleteRead),
])
def test_a_body_cut_short_is_an_incomplete_read(scripted, answer, error):
    reply = scripted(answer, close_after=(0,)).connection().get("/", {})
    with pytest.raises(error):
        body_of(reply)
    assert not reply.complete


@pytest.mark.parametrize(("answer", "error"), [
    (b"", RemoteDisconnected),
    (b"HTTP/1.1 200 OK\r\nContent-Len", RemoteDisconnected),
    (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", BadStatusLine),
    (b"HTTP/1.1 2000 OK\r\n\r\n", BadStatusLine),
    (b"HTTP/2 200\r\n\r\n", BadStatusLine),
    (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", HTTPException),
    (b"HTTP/1.1 200 OK\r\nX-Huge: " + b"a" * 70_000 + b"\r\n\r\n", LineTooLong),
])
def test_an_answer_that_is_not_http_1_is_refused_with_the_standard_error(scripted, answer, error):
    connection = scripted(answer, close_after=(0,)).connection()
    with pytest.raises(error):
        connection.get("/", {})


@pytest.mark.parametrize(("target", "headers"), [
    ("/list?x=1 HTTP/1.1\r\nX-Injected: 1", {}),
    ("/list", {"X-API-Key": "secret-key\r\nX-Injected: 1"}),
    ("/list", {"X-API-Key": "secret-\u20ac-key"}),
])
def test_a_request_that_would_break_its_lines_is_refused_without_quoting_the_value(scripted, target, headers):
    server = scripted(b"HTTP/1.1 204 No Content\r\n\r\n")
    with pytest.raises(ValueError) as caught:
        server.connection().get(target, headers)
    assert "secret" not in str(caught.value) and "Injected" not in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize(("host", "port", "header"), [
    ("api.example.com", None, "api.example.com"),
    ("api.example.com", 80, "api.example.com"),
    ("api.example.com", 8443, "api.example.com:8443"),
    ("::1", 8080, "[::1]:8080"),
])
def test_the_host_header_names_the_port_only_when_it_is_not_the_default(host, port, header):
    assert Connection(host, port)._host_header == header


@pytest.mark.parametrize("key", ["first-half\nsecond-half", "first-half\u2013second-half"])
def test_a_key_no_header_can_carry_is_refused_before_any_request_without_showing_it(sandbox, key):
    with pytest.raises(tk.AuthenticationError, match="line break or a character") as caught:
        tk.load_briq(key, sandbox.base_url, progress=False, retry=FAST_RETRY)
    assert "half" not in str(caught.value)
    assert sandbox.list_requests() == []
