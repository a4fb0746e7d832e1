"""Keep API keys out of every text the toolkit produces.

Every key a client is built with is registered here; :func:`redact` replaces each
registered key (and any ``X-API-Key`` header value) in a text. Error messages, log lines
and anything echoed back by a server pass through it, because a server may well repeat
the key it was sent in its own error body.
"""

from __future__ import annotations

import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
_HEADER_PATTERN = re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)([^\s'\",}]+)")
MASK = "***"


def register_secret(secret: str) -> None:
    """Remember ``secret`` so that :func:`redact` hides it from now on."""
    # Very short strings would mask ordinary words; keys are long.
    if secret and len(secret) >= 4:
        with _lock:
            _secrets.add(secret)


def redact(text: object) -> str:
    """Return ``str(text)`` with every registered key and API-key header value masked."""
    result = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in result:
            result = result.replace(secret, MASK)
    return _HEADER_PATTERN.sub(lambda m: m.group(1) + MASK, result)
