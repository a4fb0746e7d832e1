"""One kept-alive HTTP/1.1 connection: a GET written in one piece, its answer read from a buffer.

The toolkit's own sessions send nothing but GETs with a handful of headers and read JSON
answers. ``http.client`` is general: it builds a request a header at a time, parses the
answer's head with the ``email`` package and opens a new file object for every answer,
about 0.1 ms of CPU per request all told, as much as decoding a quarter of a page. Here a
request is one formatted write, and the head is read a line at a time into a dict.

What a client must get right is kept, each with the standard library's error type so that
callers handle one family of errors: a line or a head too long (:class:`LineTooLong`,
:class:`HTTPException`), a server that closes before answering
(:class:`RemoteDisconnected`), a status line that is not HTTP/1.x (:class:`BadStatusLine`),
a body shorter than its ``Content-Length`` or cut inside a chunk (:class:`IncompleteRead`),
informational ``1xx`` answers skipped, chunked bodies, bodies that end with the connection,
and whether the connection may carry another request afterwards.
"""

from __future__ import annotations

import io
import socket
import ssl
from http.client import BadStatusLine, HTTPException, IncompleteRead, LineTooLong, RemoteDisconnected
from typing import cast

#: Longest status or header line read, and most header lines, as ``http.client`` allows.
MAX_LINE = 65536
MAX_HEADERS = 100
_READ_BUFFER = 64 * 1024
_LINE_ENDS = (b"\r\n", b"\n", b"")


class Headers(dict[str, str]):
    """An answer's headers by lower-case name; :meth:`get` takes a name in any case.

    A header sent more than once keeps every value, joined by ``", "``.
    """

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


class Answer:
    """The status and headers of one answer, and its body, read on demand with :meth:`read`.

    Attributes
    ----------
    status : int
        The HTTP status code.
    headers : Headers
        The answer's headers.
    will_close : bool
        Whether the connection ends with this answer (``Connection: close``, HTTP/1.0, or a
        body that only its end delimits).
    complete : bool
        Whether the whole body has been read.
    """

    def __init__(self, reader: io.BufferedReader, status: int, headers: Headers, *,
                 length: int | None, chunked: bool, will_close: bool) -> None:
        self._reader = reader
        self.status = status
        self.headers = headers
        self.will_close = will_close
        self._length = length
        self._chunked = chunked
        self._chunk_left = 0
        self.complete = length == 0

    def read(self, amount: int) -> bytes:
        """Up to ``amount`` bytes of the body (fewer only at its end); ``b""`` once it is all read.

        Raises
        ------
        IncompleteRead
            The connection ended before the body did.
        """
        if self.complete:
            return b""
        if self._chunked:
            return self._read_chunks(amount)
        if self._length is None:  # delimited by the connection's end
            data = self._reader.read(amount)
            self.complete = not data
            return data
        data = self._exactly(min(amount, self._length))
        self._length -= len(data)
        self.complete = self._length == 0
        return data

    def _read_chunks(self, amount: int) -> bytes:
        pieces = []
        while amount > 0:
            if self._chunk_left == 0:
                size = self._chunk_size()
                if size == 0:
                    self._skip_trailers()
                    self.complete = True
                    break
                self._chunk_left = size
            piece = self._exactly(min(amount, self._chunk_left))
            pieces.append(piece)
            amount -= len(piece)
            self._chunk_left -= len(piece)
            if self._chunk_left == 0:
                self._exactly(2)  # the line end after a chunk's data
        return b"".join(pieces)

    def _chunk_size(self) -> int:
        line = _line(self._reader, "chunk size")
        if not line:
            raise IncompleteRead(b"")
        try:
            size = int(line.split(b";", 1)[0], 16)
        except ValueError:
            raise IncompleteRead(b"") from None  # not a chunk size: the body is broken off
        if size < 0:
            raise IncompleteRead(b"")
        return size

    def _skip_trailers(self) -> None:
        for _ in range(MAX_HEADERS + 1):
            if _line(self._reader, "trailer") in _LINE_ENDS:
                return
        raise HTTPException(f"got more than {MAX_HEADERS} trailers")

    def _exactly(self, size: int) -> bytes:
        data = self._reader.read(size)
        if len(data) < size:
            raise IncompleteRead(data, size - len(data))
        return data


class Connection:
    """One connection to ``host``:``port``, plain or TLS, that sends GETs one after another.

    Parameters
    ----------
    host : str
        The server's name or address (an IPv6 address without brackets).
    port : int, optional
        Default: 443 with ``tls``, else 80.
    tls : ssl.SSLContext, optional
        Speak TLS, verifying the server's certificate and name with this context.
    """

    def __init__(self, host: str, port: int | None, tls: ssl.SSLContext | None = None) -> None:
        default = 443 if tls is not None else 80
        self.host = host
        self.port = port or default
        self.tls = tls
        self.sock: socket.socket | None = None
        self._reader: io.BufferedReader | None = None
        named = f"[{host}]" if ":" in host else host
        self._host_header = named if self.port == default else f"{named}:{self.port}"

    def connect(self, timeout: float) -> None:
        """Open the connection (and shake hands for TLS); errors are the socket's and ``ssl``'s."""
        sock = socket.create_connection((self.host, self.port), timeout)
        try:
            # The request leaves in one write; Nagle's algorithm would only hold it back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._reader = cast(io.BufferedReader, sock.makefile("rb", buffering=_READ_BUFFER))

    def get(self, target: str, headers: dict[str, str]) -> Answer:
        """Send ``GET target`` with ``headers`` and read the answer's head.

        Raises
        ------
        ValueError
            A target or a header that would break the request's lines (the value is not
            quoted: a header may hold a key).
        OSError, HTTPException
            The connection failed, or the answer is not HTTP/1.x.
        """
        if self.sock is None or self._reader is None:
            raise ConnectionError("the connection is not open")
        self.sock.sendall(_request(target, self._host_header, headers))
        return _answer(self._reader)

    def close(self) -> None:
        """Close the connection; a closed one may be opened again with :meth:`connect`."""
        reader, sock = self._reader, self.sock
        self._reader = self.sock = None
        if reader is not None:
            reader.close()
        if sock is not None:
            sock.close()


def _request(target: str, host: str, headers: dict[str, str]) -> bytes:
    if not target.startswith("/") or any(character <= " " or character == "\x7f" for character in target):
        raise ValueError("the request target must be a path without spaces or control characters")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if not name.isprintable() or ":" in name or any(c in value for c in "\r\n\x00"):
            raise ValueError(f"header {name[:40]!r} holds a line break or another control character")
        lines.append(f"{name}: {value}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("the request target or a header holds a character HTTP cannot carry (beyond "
                         "Latin-1)") from None


def _line(reader: io.BufferedReader, what: str) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise LineTooLong(what)
    return line


def _answer(reader: io.BufferedReader) -> Answer:
    while True:
        line = _line(reader, "status line")
        if not line:
            raise RemoteDisconnected("the server closed the connection without answering")
        version, status = _status(line)
        headers = _headers(reader)
        if not 100 <= status < 200 or status == 101:
            break  # informational answers (100 Continue, 103 Early Hints) precede the real one
    connection = (headers.get("connection") or "").lower()
    coding = (headers.get("transfer-encoding") or "").lower()
    chunked = coding.rsplit(",", 1)[-1].strip() == "chunked"
    length: int | None = None
    if not chunked:
        try:
            length = int(headers.get("content-length") or "")
        except ValueError:
            length = None  # absent or unreadable: the body ends with the connection
        if length is not None and length < 0:
            length = None
    if status in (204, 304) or 100 <= status < 200:
        length, chunked = 0, False
    will_close = ("close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
                  or (not chunked and length is None))
    return Answer(reader, status, headers, length=length, chunked=chunked, will_close=will_close)


def _status(line: bytes) -> tuple[str, int]:
    parts = line.decode("iso-8859-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise BadStatusLine(repr(line[:80]))
    return parts[0], int(parts[1])


def _headers(reader: io.BufferedReader) -> Headers:
    headers = Headers()
    last: str | None = None
    for _ in range(MAX_HEADERS + 1):
        line = _line(reader, "header line")
        if line in _LINE_ENDS:
            if not line:
                raise RemoteDisconnected("the server closed the connection inside the answer's head")
            return headers
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and last is not None:  # a folded line continues the header before it
            headers[last] = f"{headers[last]} {text.strip()}"
            continue
        name, colon, value = text.partition(":")
        if not colon:
            continue  # not a header: ignored, as browsers and http.client do
        last = name.strip().lower()
        value = value.strip()
        headers[last] = f"{headers[last]}, {value}" if last in headers else value
    raise HTTPException(f"got more than {MAX_HEADERS} headers")
