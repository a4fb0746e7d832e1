"""Both providers' list endpoints over real HTTP on 127.0.0.1, with switchable misbehaviour.

The sandbox follows the OpenAPI documents and the live shapes: Wassist at
``/api/v1/conversations/`` (limit/offset envelope, documented string types or live typed
values), Briq at ``/v1/whatsapp/conversations`` (enveloped or bare). Everything a real
server does to a client can be switched on: latency, 429 with or without ``Retry-After``,
5xx, reset connections, truncated bodies, stalls, page caps, key checks with each
provider's error bodies, a request budget, and live traffic (churn) that moves, closes and
inserts conversations while a pull runs. All randomness is seeded.

Three parts: the endpoints (:mod:`._endpoints`, pure functions of the query and a clock),
the misbehaviour (:mod:`._faults`: the fault injector and the request budget), and here the
:class:`Sandbox` that holds the data and a thin HTTP handler that parses each request, asks
the injector, calls the endpoint and writes the answer.
"""

from __future__ import annotations

import bisect
import json
import random
import socket
import struct
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ssl import SSLContext
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from ._data import Conversation, make_channels, make_conversations, new_conversation, utc_now
from ._endpoints import BRIQ_PATH, WASSIST_PATH, Answer, briq_conversations, refused, wassist_conversations
from ._faults import FaultInjector, Reply, RequestBudget, altered, rate_limited, replacement
from ._render import warm

#: Live-traffic events :meth:`Sandbox.churn` can make, with their relative weights.
CHURN_KINDS = {"new": 0.15, "message": 0.55, "close": 0.30, "read": 0.25, "remove": 0.05}


@dataclass
class SandboxConfig:
    """What the sandbox serves and how it misbehaves. Change fields at any time.

    Parameters
    ----------
    seed : int
        Seeds data, faults and churn.
    wassist_conversations, briq_conversations : int
        How many conversations each provider holds.
    wassist_encoding : {"live", "documented"}
        ``documented`` sends the OpenAPI document's string types; ``live`` the typed
        objects real clients see.
    briq_envelope : {"enveloped", "bare"}
    wassist_key, briq_key : str
        The keys the sandbox accepts (``check_keys``).
    briq_unlinked_keys : tuple of str
        Keys answered with 403 WORKSPACE_REQUIRED.
    latency : float
        Seconds added to every response.
    fault_rate : float
        Share of requests answered with a random fault from ``fault_kinds``.
    retry_after : float
        Seconds sent in ``Retry-After`` / ``retry_after`` of injected 429s.
    stall_seconds : float
        How long a ``stall`` fault holds the response.
    max_page_size : int or None
        Serve at most this many rows per page whatever ``limit`` asks.
    rate_limit : tuple (requests, seconds) or None
        A per-key budget; beyond it the sandbox answers 429.
    churn_rate : float
        Live-traffic events per list request (0 = a still inbox).
    churn_kinds : tuple of str
        Which events churn makes, from :data:`CHURN_KINDS`: ``"new"`` (a thread starts),
        ``"message"`` (an inbound message), ``"close"`` (the window closes with no new
        message), ``"read"`` (unread messages read, no new message), ``"remove"`` (a
        thread leaves the list).
    hostile : str or None
        A lying server: ``"same-page"`` (ignores ``offset``), ``"oversized-pages"``
        (three times the rows asked), ``"phantom-total"`` (claims ten million rows, serves
        one page), ``"next-elsewhere"`` (``next`` links point at ``elsewhere``).
    elsewhere : str
        Where ``next-elsewhere`` links point.
    """

    seed: int = 7
    wassist_conversations: int = 1200
    briq_conversations: int = 1500
    wassist_encoding: str = "live"
    briq_envelope: str = "enveloped"
    wassist_key: str = "sandbox-wassist-key"
    briq_key: str = "sandbox-briq-key"
    check_keys: bool = True
    briq_unlinked_keys: tuple[str, ...] = ("sandbox-briq-unlinked",)
    latency: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("429", "429-body", "500", "502", "503", "reset", "truncate")
    retry_after: float = 0.0
    stall_seconds: float = 3.0
    max_page_size: int | None = None
    rate_limit: tuple[int, float] | None = None
    churn_rate: float = 0.0
    churn_kinds: tuple[str, ...] = ("new", "message", "close")
    channels: int = 4
    hostile: str | None = None
    elsewhere: str = "http://127.0.0.2:9"


@dataclass
class RequestRecord:
    """One request the sandbox saw."""

    provider: str
    path: str
    params: dict[str, str]
    key_accepted: bool
    status: int
    fault: str | None
    at: float = field(default_factory=time.monotonic)


class Sandbox:
    """A local server of both providers' list endpoints.

    Use as a context manager, or call :meth:`start` / :meth:`stop`.

    Examples
    --------
    >>> from toolkit.sandbox import Sandbox
    >>> import toolkit as tk
    >>> with Sandbox() as sandbox:  # doctest: +SKIP
    ...     df = tk.load_briq(sandbox.config.briq_key, sandbox.base_url)
    """

    def __init__(self, config: SandboxConfig | None = None, *, port: int = 0,
                 host: str = "127.0.0.1", tls: SSLContext | None = None) -> None:
        self.config = config or SandboxConfig()
        #: A server-side TLS context (certificate loaded): serve HTTPS instead of HTTP.
        self.tls = tls
        self.host = host
        self.port = port
        self.requests: list[RequestRecord] = []
        self.lock = threading.RLock()
        #: Which fault answers each request (forced ones first, then at ``fault_rate``).
        self.faults = FaultInjector(self.config.seed)
        #: The per-key request budget of ``rate_limit``.
        self.budget = RequestBudget()
        self._churn_rng = random.Random(f"churn:{self.config.seed}")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._frozen_at: datetime | None = None
        self.created_at = utc_now()
        self.conversations: dict[str, list[Conversation]] = {}
        self.reset_data()

    # -- lifecycle -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's clock: the wall clock, or the moment :meth:`freeze` fixed."""
        return self._frozen_at if self._frozen_at is not None else utc_now()

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the sandbox's clock at ``at`` (default: now); returns the moment.

        Windows then neither close nor shrink between two pulls, and churn stamps its
        events with that moment. :meth:`thaw` restarts the wall clock.
        """
        with self.lock:
            self._frozen_at = at if at is not None else utc_now()
            self.version += 1  # clock-dependent filters are recomputed
            return self._frozen_at

    def thaw(self) -> None:
        """Let the sandbox's clock follow the wall clock again."""
        with self.lock:
            self._frozen_at = None
            self.version += 1

    def reset_data(self, conversations: dict[str, list[Conversation]] | None = None) -> None:
        """(Re)make the data from the seed and sizes in :attr:`config`, or serve ``conversations``.

        ``conversations`` maps each provider to its threads, e.g. the final state of a
        simulated history (:class:`toolkit.sandbox.SimulatedInbox`), so that a pull of
        the sandbox ends that history.
        """
        with self.lock:
            now = self.now()
            self.created_at = now
            if conversations is not None:
                self.conversations = {provider: list(items) for provider, items in conversations.items()}
            else:
                self.conversations = {
                    provider: make_conversations(provider, count, self.config.seed, now,
                                                 channels=self.config.channels)
                    for provider, count in (("wassist", self.config.wassist_conversations),
                                            ("briq", self.config.briq_conversations))
                }
            for items in self.conversations.values():
                for conversation in items:
                    warm(conversation)
            self._channels = {
                provider: sorted({(c.channel_id, c.channel_name) for c in items}) or
                make_channels(random.Random(provider), 2, "X")
                for provider, items in self.conversations.items()
            }
            self.version = 0
            #: Churn events so far: ``(kind, provider, conversation id, when)``, kind one of
            #: ``"message"``, ``"close"``, ``"new"``.
            self.events: list[tuple[str, str, str, datetime]] = []
            self._order_cache: dict[str, tuple[int, list[Conversation]]] = {}
            self._match_cache: dict[tuple, tuple[int, list[Conversation]]] = {}

    def start(self) -> Sandbox:
        """Serve in a background thread; :attr:`base_url` is then known."""
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._server = _SandboxHTTPServer((self.host, self.port), handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:8765`` (both providers share it)."""
        return f"{'https' if self.tls is not None else 'http'}://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """Environment variables that point both loaders at this sandbox."""
        return {
            "WASSIST_API_KEY": self.config.wassist_key,
            "WASSIST_BASE_URL": self.base_url,
            "BRIQ_API_KEY": self.config.briq_key,
            "BRIQ_BASE_URL": self.base_url,
        }

    def force(self, *responses: str) -> None:
        """Answer the next requests with these faults or scripted responses, in order."""
        self.faults.force(*responses)

    def configure(self, **changes: Any) -> None:
        """Change configuration fields; a change of sizes or seed remakes the data."""
        with self.lock:
            self.config = replace(self.config, **changes)
            if {"seed", "wassist_conversations", "briq_conversations", "channels"} & changes.keys():
                self.faults.reseed(self.config.seed)
                self._churn_rng = random.Random(f"churn:{self.config.seed}")
                self.reset_data()

    def record(self, request: RequestRecord) -> None:
        """Add a request to the log that :meth:`list_requests` reads."""
        with self.lock:
            self.requests.append(request)

    def list_requests(self, provider: str | None = None) -> list[RequestRecord]:
        """Requests seen so far, optionally of one provider."""
        with self.lock:
            return [r for r in self.requests if provider is None or r.provider == provider]

    # -- the data as a provider would list it ----------------------------------------------

    def ordered(self, provider: str) -> list[Conversation]:
        """All conversations of ``provider``, most recently active first."""
        cached = self._order_cache.get(provider)
        if cached and cached[0] == self.version:
            return cached[1]
        floor = datetime.min.replace(tzinfo=UTC)
        items = sorted(self.conversations[provider], key=lambda c: (c.last_message_at or floor, c.id),
                       reverse=True)
        self._order_cache[provider] = (self.version, items)
        return items

    def matching(self, provider: str, params: dict[str, str], depends_on_clock: bool,
                 keep: Callable[[Conversation], bool], *,
                 active_after: datetime | None = None) -> list[Conversation]:
        """The ordered conversations ``keep`` accepts, for one list request.

        ``params`` are the request's effective filters (``limit`` and ``offset`` aside);
        none means the whole ordered list. ``active_after``, when ``keep`` accepts only
        conversations active after it, lets the scan stop at the first older one.

        A filter that does not depend on the clock gives the same list until the data
        changes, so it is kept per data version: paging through a large inbox then costs a
        slice per request, not a scan.
        """
        filters = tuple(sorted((name, value) for name, value in params.items()
                               if name not in ("limit", "offset")))
        if not filters:
            return self.ordered(provider)
        if depends_on_clock:
            return [c for c in self._candidates(provider, active_after) if keep(c)]
        cache_key = (provider, filters)
        cached = self._match_cache.get(cache_key)
        if cached is None or cached[0] != self.version:
            cached = (self.version, [c for c in self._candidates(provider, active_after) if keep(c)])
            self._match_cache[cache_key] = cached
        return cached[1]

    def _candidates(self, provider: str, active_after: datetime | None) -> list[Conversation]:
        """The ordered conversations, cut where activity falls to ``active_after`` or below.

        A real server answers "active after" from an index on the activity time; scanning
        every conversation would make each of a refresh's short reads cost as much server
        time as a page of the whole list times its length.
        """
        ordered = self.ordered(provider)
        if active_after is None:
            return ordered
        # Most recently active first, conversations without activity last: the matches are a prefix.
        end = bisect.bisect_left(ordered, True, key=lambda c: not (
            c.last_message_at is not None and c.last_message_at > active_after))
        return ordered[:end]

    def churn_per_request(self) -> None:
        """The live traffic one list request meets: ``churn_rate`` events on average, seeded."""
        rate = self.config.churn_rate
        if rate > 0:
            whole = int(rate)
            events = whole + (1 if self._churn_rng.random() < rate - whole else 0)
            if events:
                self.churn(events)

    def churn(self, events: int, kinds: tuple[str, ...] | None = None) -> None:
        """Apply ``events`` live-traffic events of ``kinds`` (default: ``config.churn_kinds``).

        Kinds are drawn by their weights in :data:`CHURN_KINDS`.
        """
        kinds = tuple(kinds if kinds is not None else self.config.churn_kinds)
        unknown = [kind for kind in kinds if kind not in CHURN_KINDS]
        if unknown or not kinds:
            raise ValueError(f"churn kinds must be some of {list(CHURN_KINDS)}; got {list(kinds)}")
        total = sum(CHURN_KINDS[kind] for kind in kinds)
        rng = self._churn_rng
        with self.lock:
            now = self.now()
            for _ in range(events):
                provider = rng.choice(("wassist", "briq"))
                items = self.conversations[provider]
                roll, kind = rng.random() * total, kinds[-1]
                for candidate in kinds:
                    if roll < CHURN_KINDS[candidate]:
                        kind = candidate
                        break
                    roll -= CHURN_KINDS[candidate]
                if kind == "new" or not items:
                    target = new_conversation(rng, provider, self._channels[provider], now)
                    items.append(target)
                    kind = "new"
                else:
                    target = rng.choice(items)
                    if kind == "message":
                        target.customer_writes(now)
                    elif kind == "close":
                        target.close()
                        if target.window_open(now) and target.last_role == "assistant":
                            # Time runs fast here: the window of a thread we answered runs out now.
                            # The customer's last message moves back to just over 24 h ago, still
                            # before our reply, so the thread stays one that could have happened.
                            target.last_inbound_at = now - timedelta(hours=24, seconds=1)
                    elif kind == "read":
                        target.agent_reads(now)
                    else:
                        items.remove(target)
                self.events.append((kind, provider, target.id, now))
            self.version += 1

    def answer_unread(self, events: int) -> int:
        """Agents answer up to ``events`` conversations with unread messages, chosen at random
        among both providers' (as a team works its backlog): each is read and replied to, which
        moves it up its lists. Returns how many were answered."""
        rng = self._churn_rng
        with self.lock:
            now = self.now()
            waiting = [(provider, conversation) for provider, items in self.conversations.items()
                       for conversation in items if conversation.unread_count]
            chosen = rng.sample(waiting, min(events, len(waiting)))
            for provider, conversation in chosen:
                conversation.agent_replies(now)
                self.events.append(("reply", provider, conversation.id, now))
            if chosen:
                self.version += 1
        return len(chosen)

    def unread_conversations(self) -> int:
        """How many conversations of both providers have unread messages now."""
        with self.lock:
            return sum(1 for items in self.conversations.values() for conversation in items
                       if conversation.unread_count)

    def message(self, provider: str, conversation_id: str) -> None:
        """The customer writes to a conversation: it moves to the top of every list it is in."""
        with self.lock:
            self._find(provider, conversation_id).customer_writes(self.now())
            self.events.append(("message", provider, conversation_id, self.now()))
            self.version += 1

    def read(self, provider: str, conversation_id: str) -> None:
        """Mark a conversation's messages read, without any new message."""
        with self.lock:
            self._find(provider, conversation_id).agent_reads(self.now())
            self.events.append(("read", provider, conversation_id, self.now()))
            self.version += 1

    def remove(self, provider: str, conversation_id: str) -> None:
        """Take a conversation off the provider's list (deleted or archived)."""
        with self.lock:
            self.conversations[provider].remove(self._find(provider, conversation_id))
            self.events.append(("remove", provider, conversation_id, self.now()))
            self.version += 1

    def _find(self, provider: str, conversation_id: str) -> Conversation:
        for conversation in self.conversations[provider]:
            if conversation.id == conversation_id:
                return conversation
        raise KeyError(f"{provider} has no conversation {conversation_id!r}")


class _SandboxHTTPServer(ThreadingHTTPServer):
    """The standard threading server with a production-sized listen backlog.

    The standard library's default backlog is 5 connections: a client opening 16 at once
    overflows it, the kernel drops the extra handshakes and the client waits a one-second
    retransmission timer, which no real API server (backlogs in the hundreds) would impose.
    """

    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer (as the fault tests' clients do) is no server error."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """HTTP only: parse the request, ask the fault injector, call the endpoint, write the answer."""

    sandbox: Sandbox
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body would wait for
    # the client's delayed ACK (40 ms on Linux) on every kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and notebooks read the request log instead

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, by the sandbox's own clock (:meth:`Sandbox.now`, frozen or
        not), as a real server stamps its answers and its messages with one clock.

        Formatted once a second: the standard library formats it anew for every answer,
        a tenth of the sandbox's CPU per page.
        """
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return _http_date(int(self.sandbox.now().timestamp()))

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        params = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        self._request_id = "req-" + uuid.uuid4().hex[:16]
        provider = _ROUTES.get(parts.path)
        self._seen = (provider or "none", parts.path, params, False)
        if provider is None:
            self._send_json(404, {"detail": "Not found."})
            return
        sandbox = self.sandbox
        config = sandbox.config
        if config.latency:
            time.sleep(config.latency)
        key = self.headers.get("X-API-Key")
        expected = config.wassist_key if provider == "wassist" else config.briq_key
        key_accepted = (not config.check_keys) or key == expected
        self._seen = (provider, parts.path, params, key_accepted)
        refusal = refused(provider, key_accepted, key in config.briq_unlinked_keys, self._request_id)
        if refusal is not None:
            self._send_json(*refusal)
            return
        if config.rate_limit:
            wait = sandbox.budget.charge(f"{provider}:{key or ''}", *config.rate_limit)
            if wait is not None:
                self._send_reply(rate_limited(wait, body_wait=round(wait, 3)), "budget")
                return
        fault = sandbox.faults.pick(config.fault_rate, config.fault_kinds)
        reply = replacement(fault, retry_after=config.retry_after,
                            stall_seconds=config.stall_seconds) if fault else None
        if reply is not None:
            self._send_reply(reply, fault)
            return
        with sandbox.lock:
            sandbox.churn_per_request()
            status, body = self._endpoint(provider, params, sandbox.now())
        self._send_json(status, altered(fault, provider, status, body, self._request_id), fault=fault)

    def _endpoint(self, provider: str, params: dict[str, str], now: datetime) -> Answer:
        config = self.sandbox.config
        if provider == "wassist":
            return wassist_conversations(
                params, now, inbox=self.sandbox, base_url=f"http://{self.headers.get('Host', '127.0.0.1')}",
                documented=config.wassist_encoding == "documented", max_page_size=config.max_page_size,
                hostile=config.hostile, elsewhere=config.elsewhere)
        return briq_conversations(params, now, inbox=self.sandbox, request_id=self._request_id,
                                  bare=config.briq_envelope == "bare", max_page_size=config.max_page_size,
                                  hostile=config.hostile)

    # -- writing -----------------------------------------------------------------------------

    def _send_reply(self, reply: Reply, fault: str | None) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            self._log(0, fault)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif reply.raw is not None:
            self._send_raw(reply.status, reply.raw, reply.content_type, fault, reply.headers)
        else:
            self._send_json(reply.status, reply.body, headers=reply.headers, fault=fault)

    def _send_json(self, status: int, body: Any, *, headers: dict[str, str] | None = None,
                   fault: str | None = None) -> None:
        payload = _encoded(body)
        if fault == "truncate":
            # Content-Length promises the whole body; the connection ends halfway.
            self._send_raw(status, payload, "application/json", fault, headers, cut=len(payload) // 2)
        elif fault == "truncate-short":
            self._send_raw(status, payload[: len(payload) // 2], "application/json", fault, headers)
        elif fault in ("gzip", "deflate"):
            packed = zlib.compressobj(wbits=31 if fault == "gzip" else 15)
            self._send_raw(status, packed.compress(payload) + packed.flush(), "application/json", fault,
                           {**(headers or {}), "Content-Encoding": fault})
        elif fault == "chunked":
            self._send_chunked(status, payload, fault, headers)
        else:
            self._send_raw(status, payload, "application/json", fault, headers)

    def _send_raw(self, status: int, payload: bytes, content_type: str, fault: str | None,
                  headers: dict[str, str] | None = None, cut: int | None = None) -> None:
        self._send_head(status, content_type, ("Content-Length", str(len(payload))), fault, headers)
        try:
            if cut is not None:
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_head(self, status: int, content_type: str, framing: tuple[str, str], fault: str | None,
                   headers: dict[str, str] | None) -> None:
        """Log the answer and write its status line and headers: the content type, how the body
        is delimited (``framing``: a length, or chunks), the request id, then ``headers``."""
        self._log(status, fault)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header(*framing)
        self.send_header("X-Request-Id", self._request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _send_chunked(self, status: int, payload: bytes, fault: str | None,
                      headers: dict[str, str] | None = None) -> None:
        """``payload`` in pieces of 1,000 bytes, with ``Transfer-Encoding: chunked``."""
        self._send_head(status, "application/json", ("Transfer-Encoding", "chunked"), fault, headers)
        for start in range(0, len(payload), 1000):
            piece = payload[start:start + 1000]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def _log(self, status: int, fault: str | None) -> None:
        provider, path, params, key_accepted = self._seen
        self.sandbox.record(RequestRecord(provider, path, dict(params), key_accepted, status, fault))


_ROUTES = {WASSIST_PATH: "wassist", BRIQ_PATH: "briq"}


def _encoded(body: Any) -> bytes:
    """``body`` as JSON bytes.

    orjson writes a page in a fraction of the standard library's time, which keeps the
    sandbox, sharing the machine's cores with the client it serves, from being what a
    benchmark measures. What orjson refuses (an integer beyond 64 bits) goes the standard way.
    """
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(body).encode("utf-8")


@lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return formatdate(second, usegmt=True)
