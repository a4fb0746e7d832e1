"""Errors the toolkit raises on purpose, and the warning it gives for unreadable values.

The tree::

    ToolkitError                    base of everything raised on purpose
    ├── ApiError                    an HTTP answer that retrying cannot fix
    │   └── AuthenticationError     missing, invalid or unauthorised key (401, 403)
    ├── ResponseFormatError         a body that is not what the provider documents
    ├── PaginationError             the pages never formed a complete, consistent list
    ├── PullTimeoutError            the pull did not finish within its deadline
    └── SnapshotError               a snapshot folder or file that save_snapshot did not write

    DataQualityWarning (UserWarning) values that could not be read became missing

No message built here ever contains an API key: messages are made from provider names,
status codes, request ids and the provider's own error texts, and every text that came
from outside passes through :func:`toolkit._redact.redact` on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

__all__ = [
    "ToolkitError",
    "ApiError",
    "AuthenticationError",
    "ResponseFormatError",
    "PaginationError",
    "PullTimeoutError",
    "SnapshotError",
    "DataQualityWarning",
]


#: The ``provider`` of an error that concerns no one provider (no key for any of them, say).
NO_PROVIDER = "toolkit"


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose."""


class ApiError(ToolkitError):
    """An HTTP answer that retrying cannot fix.

    Attributes
    ----------
    provider : str
        ``"wassist"`` or ``"briq"``.
    status : int or None
        The HTTP status code; ``None`` when no answer ever arrived (retries exhausted on
        dropped connections or timeouts).
    request_id : str or None
        The provider's request id, where it sent one.
    codes : list of str
        The provider's error codes (``VALIDATION_ERROR``, ``WORKSPACE_REQUIRED``, ...).
    messages : list of str
        The provider's error messages.
    attempts : int
        How many requests were made before giving up.
    url : str or None
        The URL asked for (it never holds the key: keys travel in a header).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        codes: Sequence[str] = (),
        messages: Sequence[str] = (),
        attempts: int = 1,
        url: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.codes = list(codes)
        self.messages = list(messages)
        self.attempts = attempts
        self.url = url
        super().__init__(_compose(message, provider, status, request_id, self.codes, self.messages, attempts))


class AuthenticationError(ApiError):
    """Missing, invalid or unauthorised API key (HTTP 401 or 403, or no key at all).

    Attributes
    ----------
    also_refused : mapping of str to AuthenticationError
        In a pull of several providers, those after this one whose keys are missing or
        refused too (checked once this one was, with a request of one row each); empty
        otherwise.
    """

    #: Empty until a pull of several providers fills it (an instance's own dict then).
    also_refused: Mapping[str, AuthenticationError] = MappingProxyType({})


class ResponseFormatError(ToolkitError):
    """A response body that is not what the provider documents.

    Not JSON, a JSON document without the documented envelope, or ``success: false``
    with HTTP 200.

    Attributes
    ----------
    provider, status, request_id, url
        As for :class:`ApiError`.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        url: str | None = None,
        codes: Sequence[str] = (),
        messages: Sequence[str] = (),
    ) -> None:
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.url = url
        self.codes = list(codes)
        self.messages = list(messages)
        super().__init__(_compose(message, provider, status, request_id, self.codes, self.messages, None))


class PaginationError(ToolkitError):
    """The pages of a list never formed one complete, consistent list.

    Raised instead of returning a frame that may be missing rows, e.g. when a server
    keeps serving pages past any sensible end, or churn never let the pages line up.

    Attributes
    ----------
    provider : str
    """

    def __init__(self, message: str, *, provider: str) -> None:
        self.provider = provider
        super().__init__(_prefixed(provider, message))


def _prefixed(provider: str, message: str) -> str:
    """``"briq: message"``; an error of no one provider (``provider="toolkit"``) goes unprefixed."""
    return message if provider == NO_PROVIDER else f"{provider}: {message}"


class PullTimeoutError(ToolkitError):
    """The pull did not finish within its deadline (``deadline=`` of the loaders).

    Raised when a server stalls, answers too slowly or keeps asking to wait for longer
    than the caller allowed, however each single request fares against its own timeout.
    No rows are returned: a pull cut short is never passed off as a whole one.

    Attributes
    ----------
    provider : str
    deadline : float
        The seconds the pull was allowed.
    """

    def __init__(self, *, provider: str, deadline: float) -> None:
        self.provider = provider
        self.deadline = deadline
        super().__init__(f"{provider}: the pull did not finish within its deadline of {deadline:g} s "
                         "(the server could not be reached, stalled or answered too slowly); allow "
                         "longer with deadline= in Python or --deadline on the command line "
                         "(deadline=None: no limit)")


class SnapshotError(ToolkitError):
    """A snapshot folder or file that is not what :func:`toolkit.save_snapshot` writes."""


class DataQualityWarning(UserWarning):
    """Some values in a response could not be read and became missing values."""


def _compose(
    message: str,
    provider: str,
    status: int | None,
    request_id: str | None,
    codes: Sequence[str],
    messages: Sequence[str],
    attempts: int | None,
) -> str:
    parts = [_prefixed(provider, message)]
    details = []
    if status is not None:
        details.append(f"HTTP {status}")
    if request_id:
        details.append(f"request id {request_id}")
    if attempts is not None and attempts > 1:
        details.append(f"after {attempts} attempts")
    if details:
        parts.append("(" + ", ".join(details) + ")")
    provider_says = [
        f"{code}: {text}" if code and text else (code or text)
        for code, text in _zip_longest(codes, messages)
    ]
    if provider_says:
        parts.append("- provider says: " + "; ".join(provider_says))
    return " ".join(parts)


def _zip_longest(codes: Sequence[str], messages: Sequence[str]) -> list[tuple[str, str]]:
    length = max(len(codes), len(messages))
    return [
        (codes[i] if i < len(codes) else "", messages[i] if i < len(messages) else "")
        for i in range(length)
    ]
