"""HTTP policy in one place: session, key header, timeouts, retries, pacing, typed errors.

Only :class:`HttpClient` talks to the network. It sends the key in the ``X-API-Key``
header to URLs it builds itself from the configured base URL (it never follows redirects
or links a server hands back), retries what retrying can fix (429, 5xx, dropped
connections, timeouts, truncated bodies) with exponential backoff and full jitter while
honouring ``Retry-After``, paces requests to a per-key budget, and turns every other
answer into a typed error that never contains the key. What an error body says (codes,
messages, a retry hint, a request id) is read by the provider (:class:`ErrorBodies`).
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import logging
import os
import random
import select
import socket
import ssl
import threading
import time
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import orjson
import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies

from ._clock import utc_now
from ._deadline import Deadline
from ._errors import ApiError, AuthenticationError, ResponseFormatError
from ._redact import redact, register_secret
from ._wire import Answer, Connection

logger = logging.getLogger("toolkit.http")

USER_AGENT = "wa-toolkit"
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Parameters
    ----------
    max_attempts : int
        Requests made for one page at most, the first included.
    backoff_base : float
        Seconds; the n-th retry waits a random time up to ``backoff_base * 2**(n-1)``
        (full jitter), capped at ``backoff_max``.
    backoff_max : float
        Longest backoff between two attempts, in seconds.
    retry_after_max : float
        Longest wait granted to a ``Retry-After`` the server asks for, in seconds.
    """

    max_attempts: int = 10
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    retry_after_max: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.retry_after_max < 0:
            raise ValueError("backoff times must not be negative")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (retry_number - 1)))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class RateLimit:
    """A request budget: at most ``requests`` in any window of ``per_seconds``."""

    requests: int
    per_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError("a rate limit needs at least one request per positive period")


class _SlidingWindowPacer:
    """Blocks just long enough that no window of ``per_seconds`` holds more than ``requests``.

    A sliding log rather than a token bucket: a pull of up to ``requests`` pages runs at
    full speed, and any server-side counting (fixed windows, sliding windows or buckets
    of the same budget) is respected.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        # Requests reach the server a little later and less evenly than they leave here:
        # a window 1% (+30 ms) wider keeps the server's count under budget.
        self._window = limit.per_seconds * 1.01 + 0.03
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, deadline: Deadline | None = None) -> float:
        """Wait for a free slot, take it, and return the seconds waited.

        Raises :class:`PullTimeoutError` rather than wait past ``deadline``.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                horizon = now - self._window
                while self._sent and self._sent[0] <= horizon:
                    self._sent.popleft()
                if len(self._sent) < self.limit.requests:
                    self._sent.append(now)
                    return waited
                pause = self._sent[0] - horizon
            left = None if deadline is None else deadline.remaining()
            if deadline is not None and left is not None and pause > left:
                raise deadline.error()
            time.sleep(pause)
            waited += pause


_pacers: dict[tuple[str, str, RateLimit], _SlidingWindowPacer] = {}
_pacers_lock = threading.Lock()


def shared_pacer(provider: str, api_key: str, limit: RateLimit) -> _SlidingWindowPacer:
    """The one pacer of a (provider, key, budget): every pull with that key shares it."""
    # The key itself is never stored as a dict key that might be printed: a digest is.
    digest = hashlib.sha256(api_key.encode("utf-8")).hexdigest()
    with _pacers_lock:
        pacer = _pacers.get((provider, digest, limit))
        if pacer is None:
            pacer = _pacers[(provider, digest, limit)] = _SlidingWindowPacer(limit)
        return pacer


@dataclass
class JsonResponse:
    """A decoded JSON answer and what came with it."""

    payload: Any
    status: int
    fetched_at: pd.Timestamp
    request_id: str | None
    url: str
    attempts: int


@dataclass
class RequestStats:
    """What a client did: requests sent, retries, waits, statuses seen."""

    requests: int = 0
    retries: int = 0
    retry_wait_seconds: float = 0.0
    pacing_wait_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    #: The earliest ``Date`` header of an answer with a body to read (the server's clock).
    server_time_first: pd.Timestamp | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _retrying: str | None = field(default=None, repr=False, compare=False)
    _date_seen: str | None = field(default=None, repr=False, compare=False)

    def record(self, outcome: str) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[outcome] = self.statuses.get(outcome, 0) + 1

    def add_retry(self, waited: float, why: str | None = None) -> None:
        with self._lock:
            self.retries += 1
            self.retry_wait_seconds += waited
            self._retrying = why

    def settled(self) -> None:
        """A request got its answer: no retry is pending any more."""
        if self._retrying is not None:
            with self._lock:
                self._retrying = None

    def retrying(self) -> str | None:
        """What the latest retry is about (``"the server refused the connection, attempt 3
        of 10"``), while no answer has come since; else ``None``. Never holds the key."""
        return self._retrying

    def note_server_date(self, text: str | None) -> None:
        """Keep the earliest moment a ``Date`` header gave; unreadable ones are ignored.

        The header changes once a second, so most answers repeat the last one seen and
        cost a comparison, not a parse.
        """
        if not text or text == self._date_seen:
            return
        try:
            moment = pd.Timestamp(email.utils.parsedate_to_datetime(text))
        except (TypeError, ValueError, OverflowError):
            return
        # RFC 9110 dates are GMT; "-0000" parses without a zone.
        moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
        with self._lock:
            self._date_seen = text
            if self.server_time_first is None or moment < self.server_time_first:
                self.server_time_first = moment

    def add_pacing(self, waited: float) -> None:
        if waited:
            with self._lock:
                self.pacing_wait_seconds += waited

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "retry_wait_seconds": round(self.retry_wait_seconds, 3),
                "pacing_wait_seconds": round(self.pacing_wait_seconds, 3),
                "statuses": dict(self.statuses),
                "server_time_first": (None if self.server_time_first is None
                                      else self.server_time_first.isoformat()),
            }


class ErrorBodies(Protocol):
    """What a provider's error bodies say; the provider reads them, this module does not.

    Each method gets a decoded JSON object body (never anything else).
    """

    def error_texts(self, body: dict[str, Any]) -> tuple[list[str], list[str]]:
        """The provider's error codes and messages."""
        ...

    def retry_hint(self, body: dict[str, Any]) -> float | None:
        """Seconds to wait that the body asks for, if it says."""
        ...

    def body_request_id(self, body: dict[str, Any]) -> str | None:
        """The request id the body carries, if any."""
        ...


class _QuotedBodies:
    """The :class:`ErrorBodies` of a client told nothing about its provider: bodies say nothing."""

    def error_texts(self, body: dict[str, Any]) -> tuple[list[str], list[str]]:
        return [], [_snippet(json.dumps(body).encode())]

    def retry_hint(self, body: dict[str, Any]) -> float | None:
        return None

    def body_request_id(self, body: dict[str, Any]) -> str | None:
        return None


class _Retryable(Exception):
    """An attempt that failed in a way another attempt may fix."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None,
                 request_id: str | None = None, error_body: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.error_body = error_body


class HttpClient:
    """The one way the toolkit sends a request.

    Parameters
    ----------
    provider : str
        Name used in errors and logs.
    base_url : str
        Server root, e.g. ``https://backend.wassist.app``; paths are appended to it.
    api_key : str
        Sent as ``X-API-Key``; registered for redaction; never shown.
    timeout : float
        Seconds to wait for connecting and for each read.
    session : requests.Session, optional
        Used as given (never modified); by default a session with a connection pool
        sized to ``pool_size``.
    retry : RetryPolicy
    rate_limit : RateLimit, optional
        Client-side request budget shared by every client with the same key.
    pool_size : int
        Connections kept open, one per concurrent worker.
    max_body_bytes : int
        Bodies larger than this are refused with :class:`ResponseFormatError`.
    answers : ErrorBodies, optional
        Reads the provider's error bodies (its provider object); without it, an error
        body is only quoted.
    deadline : Deadline, optional
        When the whole load must be over: no attempt starts, no retry or pacing waits and
        no request waits for an answer past it (:class:`PullTimeoutError`).
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        pool_size: int = 8,
        max_body_bytes: int = 64 * 1024 * 1024,
        seed: int | None = None,
        answers: ErrorBodies | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        register_secret(api_key)
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.__api_key = api_key
        self.timeout = _check_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self.answers: ErrorBodies = answers if answers is not None else _QuotedBodies()
        self.stats = RequestStats()
        # Whether the server has answered this client once: a connection refused before
        # that is most likely a wrong port (see FIRST_CONTACT_REFUSALS).
        self._answered = False
        self.deadline = deadline if deadline is not None else Deadline(None, provider)
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._pacer = shared_pacer(provider, api_key, rate_limit) if rate_limit else None
        self._owns_session = session is None
        self.session: requests.Session | _WireSession = (
            session if session is not None else _own_session(pool_size, self.base_url))
        _warn_if_plain_http(provider, self.base_url)

    def __repr__(self) -> str:
        return f"HttpClient(provider={self.provider!r}, base_url={self.base_url!r}, api_key='***')"

    @property
    def paced(self) -> bool:
        """Whether requests are held to a client-side budget (:class:`RateLimit`)."""
        return self._pacer is not None

    def close(self) -> None:
        """Close the session if this client made it."""
        if self._owns_session:
            self.session.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of ``path`` under the base URL, with a query string."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> JsonResponse:
        """GET ``path`` and return its decoded JSON body, retrying what can be retried.

        Raises
        ------
        AuthenticationError
            On 401 or 403.
        ApiError
            On any other non-retryable status, or when retries are exhausted.
        ResponseFormatError
            When a 200 body is not JSON, too large, or not decodable.
        """
        url = self.url(path, params)
        attempt = 0
        while True:
            attempt += 1
            self.deadline.check()
            try:
                answer = self._attempt(url, attempt)
                self.stats.settled()
                return answer
            except _Retryable as failure:
                if attempt >= self.retry.max_attempts:
                    self._give_up(url, attempt, failure)
                wait = self._wait_for(failure, attempt)
                left = self.deadline.remaining()
                if left is not None and wait >= left:
                    raise self.deadline.error() from failure
                self.stats.add_retry(wait, f"{failure.reason}, attempt {attempt + 1} of "
                                           f"{self.retry.max_attempts}")
                logger.debug("%s: %s for %s; retry %d in %.2fs", self.provider, failure.reason,
                             redact(url), attempt, wait)
                if wait > 0:
                    time.sleep(wait)

    # -- one attempt -------------------------------------------------------------------

    def _attempt(self, url: str, attempt: int) -> JsonResponse:
        if self._pacer is not None:
            self.stats.add_pacing(self._pacer.acquire(self.deadline))
        headers = {"X-API-Key": self.__api_key, "Accept": "application/json", "User-Agent": USER_AGENT}
        try:
            # Each wait for the server (connecting, each read) ends by the deadline at the latest.
            response = self.session.get(url, headers=headers, timeout=self.deadline.cap(self.timeout),
                                        allow_redirects=False, stream=True)
        except requests.Timeout as exc:
            self.stats.record("timeout")
            self.deadline.check()
            raise _Retryable(f"timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            self.stats.record("connection-error")
            self.deadline.check()
            why = str(exc) if isinstance(exc, _ConnectFailed) else f"connection failed ({type(exc).__name__})"
            if isinstance(exc, _ConnectFailed) and exc.lasting:
                self._give_up(url, attempt, _Retryable(why))  # a name that does not exist stays so
            if (isinstance(exc, _ConnectFailed) and exc.refused and not self._answered
                    and attempt >= FIRST_CONTACT_REFUSALS):
                # Nothing listens where the server has never answered: a mistyped port, or a
                # server not running. Refusals after it has answered (a restart) wait as usual.
                self._give_up(url, attempt, _Retryable(why))
            raise _Retryable(why) from exc
        self._answered = True
        with response:
            status = response.status_code
            self.stats.record(str(status))
            request_id = _header(response, "X-Request-Id")
            body = self._read_body(response, url, request_id)
            fetched_at = utc_now()
        if status == 200:
            self.stats.note_server_date(response.headers.get("Date"))
            payload = self._decode(body, response, url, request_id)
            return JsonResponse(payload, status, fetched_at, request_id, url, attempt)
        error_body = _loads_or_none(body)
        if isinstance(error_body, dict):
            said = self.answers.body_request_id(error_body)
            request_id = request_id or (redact(said) if said else None)
        if status in RETRYABLE_STATUSES or 500 <= status < 600:
            raise _Retryable(f"HTTP {status}", status, self._retry_after(response, error_body), request_id,
                             error_body)
        codes, messages = ([], [_snippet(body)]) if error_body is None else self._provider_says(error_body)
        error_type = AuthenticationError if status in (401, 403) else ApiError
        summary = {401: "the API key was refused", 403: "the API key is not allowed to do this",
                   404: "the server has no such address (is the base URL the server's root?)"}.get(
            status, "redirects are not followed" if 300 <= status < 400 else "the request was refused")
        raise error_type(summary, provider=self.provider, status=status, request_id=request_id,
                         codes=[redact(c) for c in codes], messages=[redact(m) for m in messages],
                         attempts=attempt, url=redact(url))

    def _read_body(self, response: _Response, url: str, request_id: str | None) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=256 * 1024):
                self.deadline.check()  # a body trickling in must not outlast the pull
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise ResponseFormatError(
                        f"response body larger than {self.max_body_bytes} bytes refused",
                        provider=self.provider, status=response.status_code,
                        request_id=request_id, url=redact(url))
                chunks.append(chunk)
        except requests.RequestException as exc:
            self.deadline.check()
            raise _Retryable(f"body cut short ({type(exc).__name__})") from exc
        return b"".join(chunks)

    def _decode(self, body: bytes, response: _Response, url: str, request_id: str | None) -> Any:
        try:
            return _loads(body)
        except UnicodeDecodeError as exc:
            raise ResponseFormatError("response body is not valid UTF-8 JSON", provider=self.provider,
                                      status=response.status_code, request_id=request_id,
                                      url=redact(url)) from exc
        except ValueError as exc:
            stripped = body.lstrip()
            content_type = (response.headers.get("Content-Type") or "").lower()
            looks_json = stripped[:1] in (b"{", b"[") and ("json" in content_type or not content_type)
            if looks_json:
                # A JSON body that stops early was cut in transit: another attempt may succeed.
                raise _Retryable("truncated JSON body") from exc
            raise ResponseFormatError(
                f"response is not JSON (Content-Type {content_type or 'missing'!r}, "
                f"starts {_snippet(body, 40)!r})",
                provider=self.provider, status=response.status_code, request_id=request_id,
                url=redact(url)) from exc

    # -- retries -------------------------------------------------------------------------

    def _wait_for(self, failure: _Retryable, attempt: int) -> float:
        if failure.retry_after is not None:
            return min(max(failure.retry_after, 0.0), self.retry.retry_after_max)
        with self._rng_lock:
            return self.retry.backoff(attempt, self._rng)

    def _retry_after(self, response: _Response, body: Any) -> float | None:
        """The wait the server asks for: the ``Retry-After`` header, else the provider's body hint."""
        header = _retry_after_header(response)
        if header is not None or not isinstance(body, dict):
            return header
        return self.answers.retry_hint(body)

    def _provider_says(self, body: Any) -> tuple[list[str], list[str]]:
        """Codes and messages of a decoded error body: the provider reads objects; the rest is quoted."""
        if isinstance(body, dict):
            return self.answers.error_texts(body)
        return [], [_snippet(json.dumps(body).encode())]

    def _give_up(self, url: str, attempt: int, failure: _Retryable) -> None:
        codes: list[str] = []
        messages: list[str] = []
        if failure.error_body is not None:
            codes, messages = self._provider_says(failure.error_body)
        what = "rate limited" if failure.status == 429 else failure.reason
        # Without an answer from the server, the server is what failed, not the page asked for.
        where = redact(url) if failure.status is not None else redact(self.base_url)
        if failure.status is None:
            what += _NO_ANSWER_HINTS.get(failure.reason, "")
        raise ApiError(f"gave up on {where}: {what}", provider=self.provider, status=failure.status,
                       request_id=failure.request_id, codes=[redact(c) for c in codes],
                       messages=[redact(m) for m in messages], attempts=attempt,
                       url=redact(url)) from failure


class _WireResponse:
    """An answer on one of :class:`_WireSession`'s connections, with the part of
    ``requests.Response`` that :class:`HttpClient` reads.

    The body is inflated when the server compressed it (``gzip`` or ``deflate``, which
    the request offers), a piece at a time, so that the body-size limit also stops a small
    body that inflates to a huge one. Failures while reading become the ``requests``
    errors ``requests`` would raise, so one error path serves both kinds of session.
    """

    def __init__(self, answer: Answer, connection: Connection, idle: deque[Connection], keep: int) -> None:
        self._answer = answer
        self._connection = connection
        self._idle = idle
        self._keep = keep
        self.status_code = answer.status
        self.headers = answer.headers

    def iter_content(self, chunk_size: int) -> Any:
        answer = self._answer
        inflater = _inflater(self.headers.get("Content-Encoding"))
        try:
            while data := answer.read(chunk_size):
                if inflater is None:
                    yield data
                    continue
                piece = inflater.decompress(data, chunk_size)
                yield piece
                while inflater.unconsumed_tail:
                    yield inflater.decompress(inflater.unconsumed_tail, chunk_size)
            if inflater is not None:
                yield inflater.flush()
        except (OSError, http.client.HTTPException, zlib.error) as exc:
            raise requests.ConnectionError(type(exc).__name__) from exc

    def __enter__(self) -> _WireResponse:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        # As requests does: a connection whose body was not read to the end is not reused.
        if self._answer.complete and not self._answer.will_close and len(self._idle) < self._keep:
            self._idle.append(self._connection)
        else:
            self._connection.close()


def _inflater(encoding: str | None) -> Any:
    """A decompressor for a body sent with ``Content-Encoding: encoding``, ``None`` for none.

    ``deflate`` is meant to be zlib-wrapped; window bits 47 read zlib and gzip headers alike.
    """
    if not encoding or encoding.strip().lower() == "identity":
        return None
    if encoding.strip().lower() in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(wbits=47)
    raise requests.ConnectionError(f"unsupported Content-Encoding {encoding[:40]!r}")


class _WireSession:
    """Kept-alive connections of the toolkit's own (:mod:`toolkit._wire`), for the sessions
    the toolkit makes itself.

    ``requests`` spends more CPU per request (hooks, cookie jars, adapters, settings merges,
    a CA-path check on every send) than decoding and converting the page it fetched, and
    urllib3 beneath it still spends as much again as ``http.client`` (its response wrapper,
    buffers, pool bookkeeping), which itself spends as much on a request's head as the
    rest of the exchange. The toolkit needs none of that: it builds its own URLs, sends one
    header set, follows no redirects and retries by itself. Only used without a proxy (see
    :func:`_own_session`).

    Parameters
    ----------
    pool_size : int
        Idle connections kept per origin; more are opened when more requests run at once.
    ca_bundle : str
        A CA file or directory for HTTPS.
    """

    def __init__(self, pool_size: int, ca_bundle: str) -> None:
        self._keep = max(1, pool_size)
        self._ca_bundle = ca_bundle
        self._tls: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        # Idle connections per origin; deque's append and pop are atomic, so threads share it.
        self._idle: dict[str, deque[Connection]] = {}
        self._origins: dict[str, tuple[str, str, int | None]] = {}

    def get(self, url: str, *, headers: dict[str, str], timeout: float, allow_redirects: bool = False,
            stream: bool = True) -> _WireResponse:
        scheme, _, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        origin = f"{scheme}://{host}"
        idle = self._idle.get(origin)
        if idle is None:
            idle = self._idle.setdefault(origin, deque())
        connection = self._idle_connection(idle)
        if connection is None:
            connection = self._connection(origin)
        if connection.sock is None:
            self._connect(connection, timeout)
        else:
            connection.sock.settimeout(timeout)
        try:
            answer = connection.get(slash + path or "/", {**_OFFERED_ENCODINGS, **headers})
        except TimeoutError as exc:
            connection.close()
            raise requests.Timeout(type(exc).__name__) from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise requests.ConnectionError(type(exc).__name__) from exc
        except ValueError:
            connection.close()
            raise
        return _WireResponse(answer, connection, idle, self._keep)

    def _idle_connection(self, idle: deque[Connection]) -> Connection | None:
        """An idle connection the server has not closed meanwhile, if there is one."""
        while idle:
            try:
                connection = idle.pop()
            except IndexError:
                return None
            if connection.sock is None or not _readable(connection.sock):
                return connection
            # Readable while idle: the server closed it (or sent what nobody asked for).
            connection.close()
        return None

    def _connection(self, origin: str) -> Connection:
        where = self._origins.get(origin)
        if where is None:
            parts = urlsplit(origin)
            where = self._origins.setdefault(origin, (parts.scheme, parts.hostname or "", parts.port))
        scheme, hostname, port = where
        return Connection(hostname, port, self._tls_context() if scheme == "https" else None)

    def _connect(self, connection: Connection, timeout: float) -> None:
        try:
            connection.connect(timeout)
        except socket.gaierror as exc:
            if exc.errno in _NAME_UNKNOWN:
                raise _ConnectFailed("the server's name does not exist (check the base URL)",
                                     lasting=True) from exc
            raise _ConnectFailed("the server's name did not resolve") from exc
        except ConnectionRefusedError as exc:
            raise _ConnectFailed("the server refused the connection", refused=True) from exc
        except TimeoutError as exc:
            raise requests.Timeout(type(exc).__name__) from exc
        except ssl.SSLError as exc:
            # A certificate that is not trusted, or a server that does not speak TLS on that
            # port, stays so: reported at once, with what to check.
            reason = exc.reason or type(exc).__name__
            hint = _TLS_HINTS.get(reason, "")
            raise _ConnectFailed(f"the TLS handshake failed: {reason}{hint}", lasting=True) from exc
        except OSError as exc:
            raise _ConnectFailed(f"could not connect: {exc.strerror.lower()}" if exc.strerror
                                 else "could not connect") from exc

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                bundle = self._ca_bundle
                self._tls = (ssl.create_default_context(capath=bundle) if os.path.isdir(bundle)
                             else ssl.create_default_context(cafile=bundle))
            return self._tls

    def close(self) -> None:
        for idle in list(self._idle.values()):
            while idle:
                try:
                    idle.pop().close()
                except IndexError:
                    break
        self._idle.clear()


def _readable(sock: socket.socket) -> bool:
    """Whether ``sock`` has something to read right now (on an idle connection: its end)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


#: Attempts a connection refused gets while the server has not answered the client once
#: (a wrong port is told in a second or two, not after the whole retry budget's 30 s).
FIRST_CONTACT_REFUSALS = 3


class _ConnectFailed(requests.ConnectionError):
    """No connection could be opened; its one argument says why in a few words.

    ``lasting`` marks a failure that waiting cannot mend (the server's name does not
    exist): it is reported at once instead of being retried.
    """

    def __init__(self, why: str, *, lasting: bool = False, refused: bool = False) -> None:
        super().__init__(why)
        self.lasting = lasting
        self.refused = refused


#: What to check, after the TLS handshake's reasons for failing that users meet most.
_TLS_HINTS = {
    "CERTIFICATE_VERIFY_FAILED": " (the server's certificate is not trusted: if its issuer is your "
                                 "organisation's, set REQUESTS_CA_BUNDLE to that CA file)",
    "WRONG_VERSION_NUMBER": " (the server does not speak HTTPS on this port: check the base URL's "
                            "scheme and port)",
}
#: What to check, after the reasons a server gave no answer at all that users meet most.
_NO_ANSWER_HINTS = {
    "the server refused the connection": " (nothing listens there: check the base URL's host and port)",
}
#: The resolver's answers that a name does not exist (not that it could not be asked).
_NAME_UNKNOWN = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


# Compressed bodies are welcome, as requests would say; _WireResponse inflates them.
_OFFERED_ENCODINGS = {"Accept-Encoding": "gzip, deflate"}
_Response = requests.Response | _WireResponse


def _own_session(pool_size: int, base_url: str) -> requests.Session | _WireSession:
    """The session of a client given none: the toolkit's own connections, or ``requests`` behind a proxy.

    The environment's proxy settings (which ``requests`` reads) decide: with a proxy for
    ``base_url``, a ``requests`` session that goes through it; without, :class:`_WireSession`.
    Either honours ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``, else ``requests``' bundle.
    """
    if get_environ_proxies(base_url):
        return _pooled_session(pool_size, base_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return _WireSession(pool_size, bundle or DEFAULT_CA_BUNDLE_PATH)


def _pooled_session(pool_size: int, base_url: str) -> requests.Session:
    """A session for one load: a connection per worker, environment settings read once.

    requests re-reads proxy variables, ``.netrc`` and CA-bundle variables on every request
    when ``trust_env`` is on, which costs more CPU than decoding a page. They cannot change
    during a load, so they are resolved here once and the per-request lookup is switched off.
    """
    session = requests.Session()
    # Retries are ours (see RetryPolicy); the adapter only pools connections.
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.proxies.update(get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


def _check_timeout(timeout: float) -> float:
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"timeout must be a number of seconds, got {timeout!r}") from None
    if not value > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return value


def _warn_if_plain_http(provider: str, base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"} and not (
        parts.hostname or "").startswith("127."):
        import warnings

        warnings.warn(f"{provider}: {base_url} is plain http; the API key would travel unencrypted",
                      RuntimeWarning, stacklevel=4)


def _header(response: _Response, name: str) -> str | None:
    value = response.headers.get(name)
    return redact(value) if value else None


def _loads(body: bytes) -> Any:
    """``json.loads``, through orjson first: it decodes a page in about 40% of the time.

    orjson refuses what the standard library accepts beyond strict UTF-8 JSON (``NaN``,
    integers past 64 bits, UTF-16 bodies): those, and every error, take ``json.loads``, so
    that what is read and which error is raised do not depend on the fast path.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _loads_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _retry_after_header(response: _Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), ``None`` when absent or unreadable."""
    header = response.headers.get("Retry-After")
    if header:
        header = header.strip()
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    return None


def _snippet(body: bytes, length: int = 200) -> str:
    text = body[:length].decode("utf-8", errors="replace").strip()
    return redact(" ".join(text.split()))
