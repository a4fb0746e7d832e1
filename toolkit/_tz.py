"""The time zone people read times in: frames stay UTC, outputs show local wall-clock time.

One rule for every output (workbook, report, charts, command line): an explicit ``tz``
argument, else the ``WA_TOOLKIT_TZ`` environment variable, else UTC. Zones are IANA names
(``Africa/Dar_es_Salaam``), checked here so that a typo is one clear ``ValueError``.
"""

from __future__ import annotations

import os
import zoneinfo
from datetime import tzinfo

import pandas as pd

__all__ = ["TZ_ENV", "DEFAULT_TZ", "resolve_tz", "local_wall_clock", "describe_tz"]

#: The environment variable that sets the zone of every output when no ``tz`` is given.
TZ_ENV = "WA_TOOLKIT_TZ"
DEFAULT_TZ = "UTC"


def resolve_tz(tz: str | tzinfo | None = None) -> str:
    """The IANA name of the zone to show times in.

    Parameters
    ----------
    tz : str or zoneinfo.ZoneInfo, optional
        An IANA zone name such as ``"Africa/Dar_es_Salaam"``. When not given,
        ``WA_TOOLKIT_TZ`` is used if set (and not blank), else ``"UTC"``.

    Returns
    -------
    str
        The zone's IANA name.

    Raises
    ------
    ValueError
        ``tz`` (or the environment variable) is not a known IANA zone name.

    Examples
    --------
    >>> resolve_tz("Africa/Dar_es_Salaam")
    'Africa/Dar_es_Salaam'
    """
    if tz is not None:
        return _checked(tz, "tz")
    configured = os.environ.get(TZ_ENV, "").strip()
    if configured:
        return _checked(configured, f"the {TZ_ENV} environment variable")
    return DEFAULT_TZ


def _checked(tz: object, source: str) -> str:
    if isinstance(tz, zoneinfo.ZoneInfo):
        return tz.key
    if tz is not None and str(tz) == "UTC":
        return DEFAULT_TZ  # datetime.timezone.utc, pytz.utc and "UTC" alike
    if not isinstance(tz, str):
        raise ValueError(f"{source} must be an IANA time zone name such as 'Africa/Dar_es_Salaam', "
                         f"got {tz!r}")
    name = tz.strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{source}: {tz!r} is not an IANA time zone name "
                         "(such as 'Africa/Dar_es_Salaam', 'Europe/London' or 'UTC')") from None
    return name


def local_wall_clock(times: pd.Series, tz: str) -> pd.Series:
    """UTC timestamps as the wall-clock time in ``tz``, without a zone (for spreadsheet cells).

    Parameters
    ----------
    times : pandas.Series
        tz-aware timestamps.
    tz : str
        A zone from :func:`resolve_tz`.

    Returns
    -------
    pandas.Series
        Naive timestamps: what a clock in ``tz`` showed at each moment.
    """
    return times.dt.tz_convert(tz).dt.tz_localize(None)


def describe_tz(tz: str, at: pd.Timestamp | None = None) -> str:
    """``"Africa/Dar_es_Salaam (UTC+03:00)"``: the zone and its offset from UTC at ``at``.

    Parameters
    ----------
    tz : str
        A zone from :func:`resolve_tz`.
    at : pandas.Timestamp, optional
        The moment whose offset to show (zones with summer time have two); default now.

    Returns
    -------
    str
    """
    if tz == DEFAULT_TZ:
        return DEFAULT_TZ
    moment = pd.Timestamp.now(tz="UTC") if at is None or pd.isna(at) else pd.Timestamp(at)
    moment = (moment.tz_localize("UTC") if moment.tzinfo is None else moment).tz_convert(tz)
    offset = moment.strftime("%z")
    return f"{tz} (UTC{offset[:3]}:{offset[3:]})"
