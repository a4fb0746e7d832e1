"""One module per provider: its :class:`Provider` object, raw JSON to the unified schema, its loader.

The flow all loaders share lives in :mod:`._load`; what a provider is, in :mod:`._provider`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd

from .._schema import conform, empty_frame, provider_name
from ._provider import Provider, PullOptions
from .briq import BRIQ, load_briq
from .wassist import WASSIST, load_wassist

LOADERS: dict[str, Callable[..., pd.DataFrame]] = {"wassist": load_wassist, "briq": load_briq}
PROVIDERS: dict[str, Provider] = {"wassist": WASSIST, "briq": BRIQ}


def load_conversations(
        providers: Sequence[str] | Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Conversations of several providers in one frame, in the unified schema.

    Parameters
    ----------
    providers : list of str or dict, optional
        Names (``"wassist"``, ``"briq"``), or a dict of name to the keyword arguments of
        that provider's loader. ``None`` means every provider whose key is set in the
        environment (``WASSIST_API_KEY``, ``BRIQ_API_KEY``).

    Returns
    -------
    pandas.DataFrame
        Rows of all providers together; ``df.attrs["pulls"]`` maps each provider to what
        its pull did.

    Raises
    ------
    ValueError
        An unknown provider name, one named twice ("briq" and "Briq"), or a bad argument for one.
    TypeError
        A provider's settings that are not a dict, or a setting of the wrong type (``retry``,
        ``session``, ``base_url``).
    AuthenticationError
        ``providers=None`` and no key is set at all, or a key is missing or refused. The
        keys of the providers after it are then checked with a request of one row each, and
        those missing or refused too are named in the error's note and in its
        ``also_refused`` (name -> error).

    Examples
    --------
    >>> import toolkit as tk
    >>> df = tk.load_conversations({"briq": {"status": "unread"}, "wassist": {}})  # doctest: +SKIP
    """
    if providers is None:
        chosen: dict[str, dict[str, Any]] = {name: {} for name in keyed_providers()}
        if not chosen:
            from .._errors import NO_PROVIDER, AuthenticationError

            names = " or ".join(provider.env_key for provider in PROVIDERS.values())
            raise AuthenticationError(f"no API key: set {names}", provider=NO_PROVIDER)
    else:
        chosen = named_options(providers)
    unknown = [name for name in chosen if name not in LOADERS]
    if unknown:
        raise ValueError(f"unknown provider(s) {unknown}; known: {', '.join(LOADERS)}")
    pulled = each_provider(chosen, lambda name, options: LOADERS[name](**options))
    pulls = {name: frame.attrs.get("pull", {}) for name, frame in pulled.items()}
    nonempty = [frame for frame in pulled.values() if len(frame)]
    combined = conform(pd.concat(nonempty, ignore_index=True)) if nonempty else empty_frame()
    combined.attrs = {"pulls": pulls}
    return combined


Pulled = TypeVar("Pulled")


def each_provider(chosen: Mapping[str, Mapping[str, Any]],
                  pull: Callable[[str, Mapping[str, Any]], Pulled]) -> dict[str, Pulled]:
    """``pull(name, settings)`` for each provider of ``chosen`` in turn, by name; an error
    leaves with the keys of the providers after it checked (:func:`name_other_refused_keys`).

    The loop of :func:`load_conversations`, :func:`toolkit.refresh` and ``snapshot
    --incremental``.
    """
    results = {}
    order = list(chosen)
    for position, name in enumerate(order):
        try:
            results[name] = pull(name, chosen[name])
        except Exception as error:
            name_other_refused_keys(error, {other: chosen[other] for other in order[position + 1:]})
            raise
    return results


def name_other_refused_keys(error: BaseException, others: Mapping[str, Mapping[str, Any]]) -> None:
    """When ``error`` is a missing or refused key, check the keys of the providers not yet
    pulled, and name those missing or refused too.

    They are kept in ``error.also_refused`` and said in a note on ``error``: with two wrong
    keys, the person fixing the first learns of the second now, not on the next run.
    :func:`each_provider` calls it as ``error`` leaves a provider's pull.

    Parameters
    ----------
    error : BaseException
        What stopped the pull; anything but an :class:`AuthenticationError` for a missing
        or refused key (401/403) is left alone, and no key is checked.
    others : mapping of str to mapping
        The providers the pull had yet to read, each with its loader's keyword arguments.
    """
    from .._errors import AuthenticationError
    from ._load import key_problem_words, refused_key

    if not isinstance(error, AuthenticationError) or error.status not in (None, 401, 403):
        return
    found = {name: refused for name, settings in others.items()
             if name in PROVIDERS and (refused := refused_key(PROVIDERS[name], settings)) is not None}
    error.also_refused = found
    for name, refused in found.items():
        error.add_note(f"{name}: its API key is {key_problem_words(refused)}: check "
                       f"{PROVIDERS[name].env_key} or its api_key")


def named_options(
        providers: str | Sequence[str] | Mapping[str, Mapping[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """``providers`` as ``load_conversations`` takes it (names or a dict) as name -> options;
    names as tables write them ("Briq") are the providers they name."""
    if isinstance(providers, Mapping):
        for name, options in providers.items():
            if options is not None and not isinstance(options, Mapping):
                raise TypeError(f"the settings of {name!r} must be a dict of loader keyword arguments, such "
                                f"as {{'api_key': ..., 'base_url': ...}}, got {type(options).__name__}")
        named = {provider_name(name): dict(options or {}) for name, options in providers.items()}
        if len(named) < len(providers):  # "briq" and "Briq": one provider, which settings?
            raise ValueError(f"{list(providers)} name a provider more than once")
        return named
    if isinstance(providers, str):
        return {provider_name(providers): {}}
    return {provider_name(name): {} for name in providers}



def keyed_providers() -> list[str]:
    """The providers whose API key is set in the environment: what ``load_conversations()`` pulls."""
    return [name for name, provider in PROVIDERS.items() if provider.environment_key() is not None]


__all__ = ["load_wassist", "load_briq", "load_conversations", "keyed_providers", "named_options",
           "each_provider", "name_other_refused_keys", "LOADERS",
           "PROVIDERS", "Provider", "PullOptions"]
