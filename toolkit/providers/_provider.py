"""What a provider is to the toolkit: one object per provider, and the options of a pull.

A :class:`Provider` knows everything provider-specific about one list endpoint: where it
lives and which key it needs, which filters it takes, how to read a page and its rows,
which query re-reads what changed since a moment (its sweep), which query lists the
unread conversations, and what its error bodies say. The flow that pulls a list
(:mod:`toolkit.providers._load`) and the HTTP client (:mod:`toolkit._http`) know nothing
about any provider; they ask this object.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from .._deadline import DEFAULT_DEADLINE, Deadline, check_deadline
from .._errors import AuthenticationError
from .._http import HttpClient, JsonResponse, RateLimit, RetryPolicy
from .._paging import HeldTop, Page
from .._values import Tally

# Pages in flight at once. A loop that fetches one page at a time is limited to one page per
# round trip; 16 in flight make a pull of thousands of pages about 16 times shorter, while
# staying a modest load for a server (the request budget, where a provider has one, still rules).
DEFAULT_MAX_WORKERS = 16
MAX_PAGE_SIZE = 100

#: A list query as sent: parameter name to text.
Params = dict[str, str]


@dataclass(frozen=True)
class PullOptions:
    """How a load talks to the server, whatever the provider.

    Parameters
    ----------
    page_size : int
        Rows asked per request, 1..100.
    max_workers : int, optional
        Pages fetched at once; ``None`` means :data:`DEFAULT_MAX_WORKERS`.
    progress : bool, optional
        Progress bar; ``None`` shows one only when a terminal or notebook is watching.
    timeout : float
        Seconds for connecting and for each read.
    session : requests.Session, optional
        Used as given, e.g. for proxies.
    retry : RetryPolicy, optional
        Attempts and backoff; ``None`` means the default policy.
    rate_limit : RateLimit, None or "default"
        Client-side budget; ``"default"`` is the provider's documented one.
    deadline : float or None
        Seconds the whole load may take; ``None``: no limit (see :mod:`toolkit._deadline`).

    Raises
    ------
    ValueError
        For a page size outside 1..100, a worker count below 1 or an unknown ``rate_limit``.
    TypeError
        For a ``retry`` that is not a :class:`RetryPolicy` or a ``session`` without ``get``.
    """

    page_size: int = MAX_PAGE_SIZE
    max_workers: int | None = None
    progress: bool | None = None
    timeout: float = 30.0
    session: Any = None
    retry: RetryPolicy | None = None
    rate_limit: RateLimit | None | str = "default"
    deadline: float | None = DEFAULT_DEADLINE

    def __post_init__(self) -> None:
        object.__setattr__(self, "deadline", check_deadline(self.deadline))
        page_size = self.page_size
        if not _whole(page_size) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
        workers = self.max_workers
        if workers is not None and (not _whole(workers) or workers < 1):
            raise ValueError(f"max_workers must be a positive whole number, got {workers!r}")
        if not (self.rate_limit in (None, "default") or isinstance(self.rate_limit, RateLimit)):
            raise ValueError(f"rate_limit must be a tk.RateLimit, None or 'default', got {self.rate_limit!r}")
        # Checked here, before any request: a wrong type would fail only at the first retry.
        if self.retry is not None and not isinstance(self.retry, RetryPolicy):
            raise TypeError(f"retry must be a tk.RetryPolicy (e.g. tk.RetryPolicy(max_attempts=5)) or None, "
                            f"got {type(self.retry).__name__}")
        if self.session is not None and not callable(getattr(self.session, "get", None)):
            raise TypeError(f"session must be a requests.Session or None, got {type(self.session).__name__}")

    @property
    def workers(self) -> int:
        """Pages fetched at once, the default filled in."""
        return DEFAULT_MAX_WORKERS if self.max_workers is None else self.max_workers


#: A loader's keyword arguments that are not filters: key, server root and HTTP settings.
LOADER_SETTINGS = frozenset({"api_key", "base_url", *PullOptions.__dataclass_fields__})


@dataclass(frozen=True)
class ListQuery:
    """One list to read: its query, and where reading it may stop.

    Attributes
    ----------
    params : dict
        The filters as sent (``limit`` and ``offset`` are added per page).
    is_last : callable, optional
        ``is_last(page) -> bool``: nothing beyond this page is wanted. ``None`` reads the
        list to its end.
    held_top : HeldTop, optional
        The top of the list is held by another read: read it bottom-up, down to the end,
        up to where the held rows begin (see :class:`~toolkit._paging.OffsetPuller`).
    """

    params: Params
    is_last: Callable[[Page], bool] | None = None
    held_top: HeldTop | None = None


class Provider(ABC):
    """One provider's list endpoint, its filters, its pages and its answers.

    Subclasses set the class attributes and implement :meth:`read_page`, :meth:`parse`,
    :meth:`changed_since`, :meth:`unread_params` and :meth:`error_texts`; the other methods
    have defaults that fit a provider whose rows tell their own unread state and whose
    error bodies carry no retry hint or request id. Each provider also has a ``params``
    method taking its loader's filters as keywords: it checks them (``ValueError``) and
    returns the query the provider documents.

    Attributes
    ----------
    name : str
        ``"wassist"`` or ``"briq"``: the value of the ``provider`` column.
    env_key, env_base_url : str
        Environment variables of the key and of the server root.
    default_base_url : str
        The production server root.
    path : str
        The list endpoint under the server root.
    default_rate_limit : RateLimit or None
        The documented request budget per key, if any.
    active_is_window : bool
        ``is_active`` means "the reply window is open", so a refresh closes it with the
        window of a row it carries (Wassist's ``active``: an inbound message in the last
        24 hours).
    moved_by_activity : tuple of str
        Filters a new message can move a conversation out of: a refresh's activity read
        leaves them out, and :meth:`still_listed` applies them to what it returns.
    """

    name: str
    env_key: str
    env_base_url: str
    default_base_url: str
    path: str
    default_rate_limit: RateLimit | None
    active_is_window: bool = False
    moved_by_activity: tuple[str, ...] = ()
    #: The loader's filters, as keywords, checked (``ValueError``) and made the query.
    params: Callable[..., Params]

    def query_of(self, loader_arguments: Mapping[str, Any]) -> Params:
        """The query a load with these keyword arguments of the provider's loader sends: its
        filters (all but :data:`LOADER_SETTINGS`) checked as the loader checks them
        (``ValueError``, ``TypeError`` for one it does not take) and made the query."""
        return self.params(**{name: value for name, value in loader_arguments.items()
                              if name not in LOADER_SETTINGS})

    def __repr__(self) -> str:
        return f"<provider {self.name}>"

    # -- settings at the edge --------------------------------------------------------------

    def environment_key(self) -> str | None:
        """The key in the provider's environment variable, stripped; ``None`` when unset or blank."""
        return os.environ.get(self.env_key, "").strip() or None

    def api_key(self, explicit: str | None) -> str:
        """The explicit key, else the environment variable; none at all is an error.

        Raises
        ------
        AuthenticationError
            No key, naming the variable to set; or a key no HTTP header can carry.
        """
        key = explicit if explicit is not None else self.environment_key()
        if not isinstance(key, str) or not key.strip():
            raise AuthenticationError(
                f"no API key: set the {self.env_key} environment variable, or pass the key: "
                f"api_key= to tk.load_{self.name}, providers={{{self.name!r}: {{'api_key': ...}}}} to "
                "tk.load_conversations or tk.refresh", provider=self.name)
        key = key.strip()
        if not (key.isascii() and key.isprintable()):
            # A key pasted with a line inside it, or with typographic characters: no header
            # carries it, and the key itself must not appear in the message.
            raise AuthenticationError(
                "the API key holds a line break or a character other than printable ASCII: check "
                f"how it was copied (into {self.env_key} or the api_key argument)", provider=self.name)
        return key

    def base_url(self, explicit: str | None) -> str:
        """The explicit server root, else the environment variable, else the production server.

        Raises
        ------
        ValueError
            For anything but an http(s) server root without query or fragment, and for a root
            given with the API's own path (``.../v1/whatsapp/conversations``).
        TypeError
            For a value that is not text.
        """
        url = explicit or os.environ.get(self.env_base_url) or self.default_base_url
        if not isinstance(url, str):
            raise TypeError(f"{self.name}: base_url must be text such as {self.default_base_url!r}, "
                            f"got {type(url).__name__}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{self.name}: base_url must be an http(s) server root such as "
                             f"{self.default_base_url!r}, got {url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"{self.name}: base_url must not carry a query or fragment, got {url!r}")
        if parts.path.rstrip("/").endswith(self.path.rstrip("/")):
            # The endpoint's own path, copied with the address from the provider's documents.
            root = url[: url.rstrip("/").rindex(self.path.rstrip("/"))]
            raise ValueError(f"{self.name}: base_url is the server's root, without the API's path "
                             f"{self.path.rstrip('/')!r}: use {root!r}, got {url!r}")
        return url.rstrip("/")

    def client(self, api_key: str, base_url: str, options: PullOptions) -> HttpClient:
        """The HTTP client of one load: the provider's default budget unless told otherwise."""
        limit = options.rate_limit if isinstance(options.rate_limit, RateLimit) else None
        if options.rate_limit == "default":
            limit = self.default_rate_limit
        return HttpClient(self.name, base_url, api_key, timeout=options.timeout, session=options.session,
                          retry=options.retry, rate_limit=limit, pool_size=options.workers, answers=self,
                          deadline=Deadline(options.deadline, self.name))

    # -- the list --------------------------------------------------------------------------

    @abstractmethod
    def read_page(self, response: JsonResponse, offset: int, limit: int) -> Page:
        """One list response as a :class:`Page`; :class:`ResponseFormatError` for a wrong envelope."""
        raise NotImplementedError

    @abstractmethod
    def parse(self, records: Sequence[Any], fetched_at: Any, tally: Tally | None = None) -> pd.DataFrame:
        """Raw rows to a frame in the unified schema (pure: no network)."""
        raise NotImplementedError

    @abstractmethod
    def changed_since(self, params: Params, since: pd.Timestamp) -> ListQuery | None:
        """The list of ``params`` narrowed to what was active at or after ``since``.

        ``None`` when nothing active since then can match ``params``. A pull's sweep reads
        it to catch conversations that moved up during the pull.
        """
        raise NotImplementedError

    def refresh_activity(self, params: Params, since: pd.Timestamp) -> ListQuery | None:
        """A refresh's activity read: what changed since ``since`` that the unread list, read
        whole beside it, does not hold already. By default all of :meth:`changed_since`."""
        return self.changed_since(params, since)

    @abstractmethod
    def unread_params(self, params: Params) -> Params:
        """The query listing the conversations of ``params`` that have unread messages."""
        raise NotImplementedError

    def first_active_since(self, since: pd.Timestamp) -> Callable[[Page], bool] | None:
        """A test of a page of this provider's lists: whether its first row was last active
        at ``since`` or later (``False`` for an empty page or an unreadable time); ``None``
        when the provider has none (then no read leaves the top of a list to another)."""
        return None

    def unread_within(self, params: Params) -> bool:
        """Whether every conversation of the unread list of ``params`` is in the list of
        ``params`` too, in the same order: then a new message that moves one up in the
        unread list moves it up in the list as well. By default, when the unread query only
        adds filters to ``params``."""
        return params.items() <= self.unread_params(params).items()

    def still_listed(self, frame: pd.DataFrame, params: Params) -> pd.Series:
        """Which rows of ``frame`` the list filtered by ``params`` holds now.

        For the filters a refresh cannot ask the server for in its reads (the
        :attr:`moved_by_activity` ones, and any the unread list ignores). By default the
        reads honour every filter: all rows are kept.
        """
        return pd.Series(True, index=frame.index)

    def needs_unread_pass(self, params: Params) -> bool:
        """Whether the rows of ``params`` leave the unread state unknown, so that
        :meth:`unread_params` must be read too (then :meth:`mark_unread` says it)."""
        return False

    def mark_unread(self, frame: pd.DataFrame, params: Params,
                    unread_ids: Iterable[str] | None) -> pd.DataFrame:
        """``frame`` with ``has_unread`` settled: from ``unread_ids`` (the unread pass's ids, when
        one was read) or from the filters. By default the rows already said it."""
        return frame

    # -- answers ---------------------------------------------------------------------------

    @abstractmethod
    def error_texts(self, body: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Error codes and messages of a JSON object error body, in the shapes the provider sends."""
        raise NotImplementedError

    def retry_hint(self, body: dict[str, Any]) -> float | None:
        """Seconds to wait that a 429/5xx body asks for (after any ``Retry-After`` header)."""
        return None

    def body_request_id(self, body: dict[str, Any]) -> str | None:
        """The request id a body carries, where the provider puts one there."""
        return None


def _whole(value: Any) -> bool:
    """Whether ``value`` is an int (``True`` and ``False`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    """``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def check_text(name: str, value: Any) -> None:
    """``ValueError`` unless ``value`` is ``None`` or a non-empty string."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")


def present(filters: Mapping[str, str | None]) -> Params:
    """The filters that were given, as a query."""
    return {name: value for name, value in filters.items() if value is not None}
