"""Both providers' list endpoints over real HTTP on 127.0.0.1, with switchable misbehaviour.

The sandbox follows the OpenAPI documents and the live shapes: Wassist at
``/api/v1/conversations/`` (limit/offset envelope, documented string types or live typed
values), Briq at ``/v1/whatsapp/conversations`` (enveloped or bare). Everything a real
server does to a client can be switched on: latency, 429 with or without ``Retry-After``,
5xx, reset connections, truncated bodies, stalls, page caps, key checks with each
provider's error bodies, a request budget, and live traffic (churn) that moves, closes and
inserts conversations while a pull runs. All randomness is seeded.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ._data import Conversation, make_channels, make_conversations, new_conversation, utc_now
from ._render import briq_item, warm, wassist_item

WASSIST_PATH = "/api/v1/conversations/"
BRIQ_PATH = "/v1/whatsapp/conversations"

#: Fault names understood by ``fault_kinds`` and :meth:`Sandbox.force`.
FAULTS = ("429", "429-body", "429-bare", "500", "502", "503", "reset", "truncate", "truncate-short", "stall")
#: Responses that only :meth:`Sandbox.force` produces (never random).
SCRIPTED = ("html", "success-false", "wrong-envelope", "not-json", "non-utf8", "huge")


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
                 host: str = "127.0.0.1") -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.requests: list[RequestRecord] = []
        self.lock = threading.RLock()
        self._forced: deque[str] = deque()
        self._rng = random.Random(f"faults:{self.config.seed}")
        self._churn_rng = random.Random(f"churn:{self.config.seed}")
        self._budget: dict[str, deque[float]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.created_at = utc_now()
        self.conversations: dict[str, list[Conversation]] = {}
        self.reset_data()

    # -- lifecycle -----------------------------------------------------------------------

    def reset_data(self, conversations: dict[str, list[Conversation]] | None = None) -> None:
        """(Re)make the data from the seed and sizes in :attr:`config`, or serve ``conversations``.

        ``conversations`` maps each provider to its threads, e.g. the final state of a
        simulated history (:class:`toolkit.sandbox.SimulatedInbox`), so that a pull of
        the sandbox ends that history.
        """
        with self.lock:
            now = utc_now()
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
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
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
        return f"http://{self.host}:{self.port}"

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
        unknown = [name for name in responses if name not in FAULTS + SCRIPTED]
        if unknown:
            raise ValueError(f"unknown responses {unknown}; known: {FAULTS + SCRIPTED}")
        with self.lock:
            self._forced.extend(responses)

    def configure(self, **changes: Any) -> None:
        """Change configuration fields; a change of sizes or seed remakes the data."""
        with self.lock:
            self.config = replace(self.config, **changes)
            if {"seed", "wassist_conversations", "briq_conversations", "channels"} & changes.keys():
                self._rng = random.Random(f"faults:{self.config.seed}")
                self._churn_rng = random.Random(f"churn:{self.config.seed}")
                self.reset_data()

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
                 keep: Callable[[Conversation], bool]) -> list[Conversation]:
        """The ordered conversations ``keep`` accepts, for one list request.

        ``params`` are the request's effective filters (``limit`` and ``offset`` aside);
        none means the whole ordered list.

        A filter that does not depend on the clock gives the same list until the data
        changes, so it is kept per data version: paging through a large inbox then costs a
        slice per request, not a scan.
        """
        filters = tuple(sorted((name, value) for name, value in params.items()
                               if name not in ("limit", "offset")))
        if not filters:
            return self.ordered(provider)
        if depends_on_clock:
            return [c for c in self.ordered(provider) if keep(c)]
        cache_key = (provider, filters)
        cached = self._match_cache.get(cache_key)
        if cached is None or cached[0] != self.version:
            cached = (self.version, [c for c in self.ordered(provider) if keep(c)])
            self._match_cache[cache_key] = cached
        return cached[1]

    def churn(self, events: int) -> None:
        """Apply ``events`` live-traffic events: new messages, closings, new threads."""
        rng = self._churn_rng
        now = utc_now()
        for _ in range(events):
            provider = rng.choice(("wassist", "briq"))
            items = self.conversations[provider]
            roll = rng.random()
            if roll < 0.15 or not items:
                target = new_conversation(rng, provider, self._channels[provider], now)
                items.append(target)
                kind = "new"
            elif roll < 0.7:
                target = rng.choice(items)
                target.customer_writes(now)
                kind = "message"
            else:
                target = rng.choice(items)
                target.close()
                if target.window_open(now) and target.last_role == "assistant":
                    # Time runs fast here: the window of a thread we answered runs out now. The
                    # customer's last message moves back to just over 24 h ago, still before
                    # our reply, so the thread stays one that could have happened.
                    target.last_inbound_at = now - timedelta(hours=24, seconds=1)
                kind = "close"
            self.events.append((kind, provider, target.id, now))
        self.version += 1


class _Handler(BaseHTTPRequestHandler):
    sandbox: Sandbox
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body would wait for
    # the client's delayed ACK (40 ms on Linux) on every kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and notebooks read the request log instead

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        params = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path == WASSIST_PATH:
            provider = "wassist"
        elif parts.path == BRIQ_PATH:
            provider = "briq"
        else:
            self._send_json(404, {"detail": "Not found."}, provider="none", params=params)
            return
        sandbox = self.sandbox
        config = sandbox.config
        if config.latency:
            time.sleep(config.latency)
        key = self.headers.get("X-API-Key")
        expected = config.wassist_key if provider == "wassist" else config.briq_key
        key_accepted = (not config.check_keys) or key == expected
        self._provider, self._params, self._key_accepted = provider, params, key_accepted
        if provider == "briq" and key in config.briq_unlinked_keys:
            self._briq_error(403, "WORKSPACE_REQUIRED", "This API key is not linked to a workspace")
            return
        if not key_accepted:
            if provider == "wassist":
                self._send_json(401, {"error": "Invalid or missing API key", "code": "invalid_api_key"})
            else:
                self._briq_error(401, "UNAUTHORIZED", "Invalid or missing API key")
            return
        if config.rate_limit and self._over_budget(provider, key or ""):
            return
        fault = self._pick_fault()
        if fault and self._serve_fault(fault):
            return
        if provider == "wassist":
            self._wassist(params, fault)
        else:
            self._briq(params, fault)

    # -- providers -------------------------------------------------------------------------

    def _wassist(self, params: dict[str, str], fault: str | None) -> None:
        sandbox = self.sandbox
        try:
            limit = _bounded_int(params.get("limit", "20"), 1, None, "limit")
            offset = _bounded_int(params.get("offset", "0"), 0, None, "offset")
            status = params.get("status")
            if status is not None and status not in ("active", "closed"):
                raise _BadParameter(
                    "status", f"Select a valid choice. {status} is not one of the available choices.")
            has_unread = _boolean(params.get("hasUnread"), "hasUnread")
            after = _timestamp(params.get("lastMessageAfter"), "lastMessageAfter")
            before = _timestamp(params.get("lastMessageBefore"), "lastMessageBefore")
        except _BadParameter as bad:
            self._send_json(400, {"error": f"{bad.name}: {bad.message}", "code": "invalid_parameter"},
                            fault=fault)
            return
        limit = min(limit, 100)
        if sandbox.config.max_page_size:
            limit = min(limit, sandbox.config.max_page_size)
        with sandbox.lock:
            self._maybe_churn()
            now = utc_now()
            matching = sandbox.matching("wassist", params, status is not None, lambda c: (
                (params.get("agent") is None or c.channel_id == params["agent"])
                and (params.get("contact") is None or _contact_matches(c, params["contact"]))
                and (has_unread is None or (c.unread_count > 0) == has_unread)
                and (status is None or c.window_open(now) == (status == "active"))
                and (after is None or (c.last_message_at is not None and c.last_message_at > after))
                and (before is None or (c.last_message_at is not None and c.last_message_at < before))))
            documented = sandbox.config.wassist_encoding == "documented"
            served, count = _served_page(matching, offset, limit, sandbox.config.hostile)
            results = [wassist_item(c, now, documented=documented) for c in served]
        base = f"http://{self.headers.get('Host', '127.0.0.1')}{WASSIST_PATH}"
        following = {**params, "limit": str(limit), "offset": str(offset + limit)}
        preceding = {**params, "limit": str(limit), "offset": str(max(0, offset - limit))}
        if sandbox.config.hostile == "next-elsewhere":
            base = f"{sandbox.config.elsewhere}{WASSIST_PATH}"
        body: Any = {
            "count": count,
            "next": f"{base}?{urlencode(following)}" if offset + limit < count else None,
            "previous": f"{base}?{urlencode(preceding)}" if offset > 0 else None,
            "results": results,
        }
        if fault == "wrong-envelope":
            body = {"items": results, "total": count}
        self._send_json(200, body, fault=fault)

    def _briq(self, params: dict[str, str], fault: str | None) -> None:
        sandbox = self.sandbox
        problems = []
        try:
            limit = _bounded_int(params.get("limit", "50"), 1, 100, "limit")
        except _BadParameter as bad:
            problems.append(bad)
            limit = 50
        try:
            offset = _bounded_int(params.get("offset", "0"), 0, None, "offset")
        except _BadParameter as bad:
            problems.append(bad)
            offset = 0
        status = params.get("status", "all")
        if status not in ("all", "open", "unread"):
            problems.append(_BadParameter("status", "Input should be 'all', 'open' or 'unread'", "enum"))
        recipient = params.get("recipient")
        if recipient is not None and not 4 <= len(recipient) <= 20:
            problems.append(_BadParameter("recipient", "String should have between 4 and 20 characters",
                                          "string_too_short" if len(recipient) < 4 else "string_too_long"))
        search = params.get("search")
        if search is not None and len(search) > 64:
            problems.append(_BadParameter("search", "String should have at most 64 characters",
                                          "string_too_long"))
        if problems:
            # Bad query parameters come back un-enveloped, from the framework.
            self._send_json(422, {"detail": [{"loc": ["query", p.name], "msg": p.message, "type": p.kind}
                                             for p in problems]}, fault=fault)
            return
        if sandbox.config.max_page_size:
            limit = min(limit, sandbox.config.max_page_size)
        wanted_phone = recipient.lstrip("+") if recipient else None
        with sandbox.lock:
            self._maybe_churn()
            now = utc_now()
            # status=all is no filter at all: the whole ordered list serves it.
            effective = {name: value for name, value in params.items() if (name, value) != ("status", "all")}
            matching = sandbox.matching("briq", effective, status == "open", lambda c: (
                (params.get("sender_id") is None or c.channel_id == params["sender_id"])
                and (wanted_phone is None or c.phone.lstrip("+") == wanted_phone)
                and (status == "all" or (status == "open" and c.window_open(now))
                     or (status == "unread" and c.unread_count > 0))
                and (search is None or _contact_matches(c, search))))
            served, total = _served_page(matching, offset, limit, sandbox.config.hostile)
            items = [briq_item(c, now) for c in served]
        listing = {"items": items, "total": total, "limit": limit, "offset": offset}
        if fault == "wrong-envelope":
            body: Any = {"results": items, "count": len(matching)}
        elif fault == "success-false":
            body = {"success": False, "data": None, "request_id": self._request_id,
                    "errors": [{"code": "VALIDATION_ERROR", "message": "Something went wrong",
                                "field": None}]}
        elif sandbox.config.briq_envelope == "bare":
            body = listing
        else:
            body = {"success": True, "data": listing, "errors": None, "request_id": self._request_id}
        self._send_json(200, body, fault=fault)

    # -- faults, budget, churn --------------------------------------------------------------

    def _maybe_churn(self) -> None:
        rate = self.sandbox.config.churn_rate
        if rate > 0:
            whole = int(rate)
            events = whole + (1 if self.sandbox._churn_rng.random() < rate - whole else 0)
            if events:
                self.sandbox.churn(events)

    def _pick_fault(self) -> str | None:
        sandbox = self.sandbox
        with sandbox.lock:
            if sandbox._forced:
                return sandbox._forced.popleft()
            config = sandbox.config
            if config.fault_rate and config.fault_kinds and sandbox._rng.random() < config.fault_rate:
                return sandbox._rng.choice(config.fault_kinds)
        return None

    def _serve_fault(self, fault: str) -> bool:
        """Serve a fault that replaces the response; ``False`` for those that alter it."""
        config = self.sandbox.config
        wait = config.retry_after
        if fault == "429":
            self._send_json(429, {"error": "Rate limit exceeded", "code": "rate_limited",
                                  "retry_after": wait},
                            headers={"Retry-After": _seconds_text(wait)}, fault=fault)
        elif fault == "429-body":
            self._send_json(429, {"error": "Rate limit exceeded", "code": "rate_limited",
                                  "retry_after": wait}, fault=fault)
        elif fault == "429-bare":
            self._send_json(429, {"detail": "Too many requests"}, fault=fault)
        elif fault in ("500", "502", "503"):
            self._send_json(int(fault), {"error": "Server error", "code": "server_error"}, fault=fault)
        elif fault == "reset":
            self._log(0, fault)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif fault == "stall":
            time.sleep(config.stall_seconds)
            self._send_json(503, {"error": "stalled"}, fault=fault)
        elif fault == "html":
            self._send_raw(200, b"<!doctype html><html><body><h1>Welcome</h1></body></html>", "text/html",
                           fault)
        elif fault == "not-json":
            self._send_raw(200, b"OK", "text/plain", fault)
        elif fault == "non-utf8":
            self._send_raw(200, b'{"items": ["\xff\xfe\xfa"], "total": 1}', "application/json", fault)
        elif fault == "huge":
            self._send_raw(200, b'{"results": [' + b'{"id": "x"},' * 6_000_000 + b'{}], "count": 1}',
                           "application/json", fault)
        else:
            return False
        return True

    def _over_budget(self, provider: str, key: str) -> bool:
        requests_allowed, per_seconds = self.sandbox.config.rate_limit  # type: ignore[misc]
        with self.sandbox.lock:
            window = self.sandbox._budget.setdefault(f"{provider}:{key}", deque())
            now = time.monotonic()
            while window and window[0] <= now - per_seconds:
                window.popleft()
            if len(window) >= requests_allowed:
                wait = window[0] + per_seconds - now
                over = True
            else:
                window.append(now)
                over = False
        if over:
            self._send_json(429, {"error": "Rate limit exceeded", "code": "rate_limited",
                                  "retry_after": round(wait, 3)},
                            headers={"Retry-After": _seconds_text(wait)}, fault="budget")
        return over

    # -- writing -----------------------------------------------------------------------------

    @property
    def _request_id(self) -> str:
        if not hasattr(self, "_rid"):
            self._rid = "req-" + uuid.uuid4().hex[:16]
        return self._rid

    def _briq_error(self, status: int, code: str, message: str) -> None:
        self._send_json(status, {"success": False, "data": None, "request_id": self._request_id,
                                 "errors": [{"code": code, "message": message, "field": None}]})

    def _send_json(self, status: int, body: Any, *, headers: dict[str, str] | None = None,
                   fault: str | None = None, provider: str | None = None, params: dict | None = None) -> None:
        payload = json.dumps(body).encode("utf-8")
        if fault == "truncate":
            # Content-Length promises the whole body; the connection ends halfway.
            self._send_raw(status, payload, "application/json", fault, headers, cut=len(payload) // 2)
            return
        if fault == "truncate-short":
            self._send_raw(status, payload[: len(payload) // 2], "application/json", fault, headers)
            return
        if provider is not None:
            self._provider, self._params, self._key_accepted = provider, params or {}, False
        self._send_raw(status, payload, "application/json", fault, headers)

    def _send_raw(self, status: int, payload: bytes, content_type: str, fault: str | None,
                  headers: dict[str, str] | None = None, cut: int | None = None) -> None:
        self._log(status, fault)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-Id", self._request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            if cut is not None:
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _log(self, status: int, fault: str | None) -> None:
        record = RequestRecord(getattr(self, "_provider", "none"), urlsplit(self.path).path,
                               dict(getattr(self, "_params", {})), getattr(self, "_key_accepted", False),
                               status, fault)
        with self.sandbox.lock:
            self.sandbox.requests.append(record)


def _served_page(matching: list[Conversation], offset: int, limit: int,
                 hostile: str | None) -> tuple[list[Conversation], int]:
    """The conversations a page serves and the total it claims, honest or not."""
    if hostile == "same-page":
        return matching[:limit], len(matching)
    if hostile == "oversized-pages":
        return matching[offset:offset + 3 * limit], len(matching)
    if hostile == "phantom-total":
        return (matching[:limit] if offset == 0 else []), 10_000_000
    return matching[offset:offset + limit], len(matching)


class _BadParameter(Exception):
    def __init__(self, name: str, message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.name, self.message, self.kind = name, message, kind


def _bounded_int(text: str, low: int, high: int | None, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _BadParameter(name, "Input should be a valid integer", "int_parsing") from None
    if value < low:
        raise _BadParameter(name, f"Input should be greater than or equal to {low}", "greater_than_equal")
    if high is not None and value > high:
        raise _BadParameter(name, f"Input should be less than or equal to {high}", "less_than_equal")
    return value


def _boolean(text: str | None, name: str) -> bool | None:
    if text is None:
        return None
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise _BadParameter(name, "Must be a valid boolean.")


def _timestamp(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _BadParameter(name, "Enter a valid date/time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _contact_matches(conversation: Conversation, needle: str) -> bool:
    needle_lower = needle.lower()
    digits = needle.lstrip("+")
    return (digits and digits in conversation.phone) or (
        conversation.name is not None and needle_lower in conversation.name.lower())


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"
