"""The sandbox's misbehaviour, apart from its endpoints: which fault answers a request, and what it sends.

:class:`FaultInjector` holds the forced responses and the seeded random draw at the
configured fault rate; :func:`replacement` says what a fault sends in place of the
endpoint's answer, :func:`altered` how a fault bends that answer. :class:`RequestBudget`
is the per-key request budget. None of them touches HTTP.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ._endpoints import briq_error

#: Fault names understood by ``fault_kinds`` and :meth:`Sandbox.force`.
FAULTS = ("429", "429-body", "429-bare", "500", "502", "503", "reset", "truncate", "truncate-short", "stall")
#: Responses that only :meth:`Sandbox.force` produces (never random).
SCRIPTED = ("html", "success-false", "wrong-envelope", "not-json", "non-utf8", "huge")
#: Faults that change how an answer is written, not what it says.
CUTS = ("truncate", "truncate-short")
#: How an honest answer can travel, each as real servers send it (forced only): compressed
#: (``Content-Encoding``) or in chunks without a ``Content-Length``.
ENCODINGS = ("gzip", "deflate", "chunked")


@dataclass(frozen=True)
class Reply:
    """A response that replaces the endpoint's answer.

    ``body`` is JSON unless ``raw`` is given; ``reset`` drops the connection instead of
    answering; ``delay`` seconds pass first.
    """

    status: int
    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    delay: float = 0.0


class FaultInjector:
    """Which fault, if any, answers the next request.

    Forced responses (:meth:`force`) come first, in order; otherwise a request fails at
    ``fault_rate`` with a fault drawn from ``fault_kinds``, from a generator seeded by
    ``seed`` so a run repeats.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._forced: deque[str] = deque()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random draw from ``seed``."""
        with self._lock:
            self._rng = random.Random(f"faults:{seed}")

    def force(self, *responses: str) -> None:
        """Answer the next requests with these faults or scripted responses, in order."""
        known = FAULTS + SCRIPTED + ENCODINGS
        unknown = [name for name in responses if name not in known]
        if unknown:
            raise ValueError(f"unknown responses {unknown}; known: {known}")
        with self._lock:
            self._forced.extend(responses)

    def pick(self, fault_rate: float, fault_kinds: Sequence[str]) -> str | None:
        """The fault of the next request, or ``None`` for an honest answer."""
        with self._lock:
            if self._forced:
                return self._forced.popleft()
            if fault_rate and fault_kinds and self._rng.random() < fault_rate:
                return self._rng.choice(fault_kinds)
        return None


def replacement(fault: str, *, retry_after: float, stall_seconds: float) -> Reply | None:
    """What ``fault`` sends instead of the endpoint's answer; ``None`` for faults that bend it."""
    if fault == "429":
        return rate_limited(retry_after)
    if fault == "429-body":
        return replace(rate_limited(retry_after), headers={})
    if fault == "429-bare":
        return Reply(429, {"detail": "Too many requests"})
    if fault in ("500", "502", "503"):
        return Reply(int(fault), {"error": "Server error", "code": "server_error"})
    if fault == "reset":
        return Reply(0, reset=True)
    if fault == "stall":
        return Reply(503, {"error": "stalled"}, delay=stall_seconds)
    if fault == "html":
        return Reply(200, raw=b"<!doctype html><html><body><h1>Welcome</h1></body></html>",
                     content_type="text/html")
    if fault == "not-json":
        return Reply(200, raw=b"OK", content_type="text/plain")
    if fault == "non-utf8":
        return Reply(200, raw=b'{"items": ["\xff\xfe\xfa"], "total": 1}')
    if fault == "huge":
        return Reply(200, raw=b'{"results": [' + b'{"id": "x"},' * 6_000_000 + b'{}], "count": 1}')
    return None


def rate_limited(wait: float, *, body_wait: float | None = None) -> Reply:
    """A 429 that says when to come back.

    ``wait`` goes into ``Retry-After``, and ``body_wait`` (else ``wait``) into the body.
    """
    return Reply(429, {"error": "Rate limit exceeded", "code": "rate_limited",
                       "retry_after": wait if body_wait is None else body_wait},
                 headers={"Retry-After": _seconds_text(wait)})


def altered(fault: str | None, provider: str, status: int, body: Any, request_id: str) -> Any:
    """The endpoint's ``body`` as ``fault`` bends it: another envelope, or Briq's ``success: false``."""
    if status != 200:
        return body
    if fault == "wrong-envelope":
        if provider == "wassist":
            return {"items": body["results"], "total": body["count"]}
        listing = body.get("data", body) if "success" in body else body
        return {"results": listing["items"], "count": listing["total"]}
    if fault == "success-false" and provider == "briq":
        return briq_error("VALIDATION_ERROR", "Something went wrong", request_id)
    return body


class RequestBudget:
    """A per-key budget of requests in a sliding window, as a rate-limited API keeps it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    def charge(self, key: str, allowed: int, per_seconds: float, now: float | None = None) -> float | None:
        """Count a request at ``now`` (monotonic seconds, by default the clock's when the budget is
        free); the seconds to wait if over budget.

        A request over budget is not counted.
        """
        with self._lock:
            now = time.monotonic() if now is None else now
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - per_seconds:
                window.popleft()
            if len(window) >= allowed:
                return window[0] + per_seconds - now
            window.append(now)
            return None


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"
