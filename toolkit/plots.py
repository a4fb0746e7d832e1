"""Charts of a unified frame (matplotlib). Each takes an optional ``ax`` and returns it.

Colours come from the Okabe-Ito palette, which stays distinguishable with the common
forms of colour blindness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from . import metrics
from ._frames import duration, group_columns
from ._limits import AT_RISK_WITHIN
from ._tz import resolve_tz
from .display import (
    BUCKET_LABELS,
    PROVIDER_LABELS,
    channel_names_of,
    format_share,
    horizon_words,
    next_window_words,
    trend_period,
    zone_label,
)

__all__ = ["PALETTE", "plot_unread_backlog", "plot_expiry_buckets", "plot_expiry_timeline",
           "plot_unread_wait", "plot_at_risk", "plot_unread_trend", "plot_closed_unread", "plot_wait_trend"]

#: Okabe-Ito, colour-blind safe.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: Axis numbers with thousands separators.
_THOUSANDS = FuncFormatter(lambda value, _: f"{round(value) + 0:,}")  # + 0: never "-0"
#: Bars that stand for every provider together.
NEUTRAL = "#5B6B7F"
#: Each provider keeps its colour in every chart.
PROVIDER_COLOURS = {"wassist": PALETTE[0], "briq": PALETTE[1]}
#: Buckets from calm to urgent: closed is grey, the soonest closings the warmest.
BUCKET_COLOURS = {"closed": "#999999", "<1h": "#D55E00", "1-4h": "#E69F00", "4-12h": "#56B4E9",
                  "12-24h": "#0072B2"}


def _counts_on(axis: Any) -> None:
    """A count axis, once the data is drawn: from 0 to at least 1, ticks on whole numbers only
    (a tick at 2.5 would read "2"), thousands separated."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(_THOUSANDS)
    _, high = axis.get_view_interval()
    if high < 1:  # nothing to count: an axis of -0.05 to 0.05 would label "-0", "0", "0"
        (axis.axes.set_xlim if axis.axis_name == "x" else axis.axes.set_ylim)(0, 1)


def _axes(ax: Any) -> plt.Axes:
    if ax is None:
        # Constrained: a legend below the axes and long labels stay inside a saved figure (as
        # the report draws them), not only in Jupyter's tightly cropped display.
        _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    elif not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be one matplotlib Axes (figure, ax = plt.subplots()), got "
                        f"{type(ax).__name__}")
    return ax


def _tidy(ax: plt.Axes, grid: Literal["x", "y"] = "x") -> None:
    """Quiet frame: no top or right spine, a light grid along the value axis, behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#888888")
    ax.tick_params(colors="#333333", labelsize=9)
    ax.set_axisbelow(True)
    ax.grid(axis=grid, color="#e3e6ea", linewidth=0.8)
    ax.title.set_fontsize(12)
    ax.title.set_fontweight("bold")


#: Shades of each provider's colour, for groups within a provider (its channels): a Briq
#: channel is orange, a Wassist channel blue, whichever chart it is in. Each family's shades
#: are about 20 points of lightness (CIELAB L*) apart, so that they differ to colour-blind
#: readers too; a fourth channel goes round again with its own marker and line style.
PROVIDER_SHADES = {"wassist": ["#0072B2", "#56B4E9", "#003F63"],  # L* 46, 70, 25
                   "briq": ["#E69F00", "#7A4A00", "#D55E00"]}  # L* 71, 36, 54
#: Colours of groups that belong to no one provider: none of the providers' shades.
_GROUP_PALETTE = [colour for colour in PALETTE
                  if all(colour not in shades for shades in PROVIDER_SHADES.values())]
#: Where missing group values sort: after every name.
_LAST = "\uffff"


#: Once the colours run out, each further round of them comes with its own marker and line
#: style (lines) or hatching (bars), so no two groups look alike.
_MARKERS = ("o", "s", "^", "D")
_LINE_STYLES = ("-", "--", "-.", ":")
_HATCHES = ("", "//", "..", "xx")


def _looks(by: Any, keys: Sequence[Any], frame: pd.DataFrame) -> dict[Any, tuple[str, int]]:
    """Each of a chart's groups ``keys`` by ``by``: its colour and round of colours (which
    marker, line style or hatching).

    By provider: the provider's own colour. A group within one provider (a channel, grouped
    by provider and channel or by channel alone): a shade of that provider's colour. Any
    other group: the palette without the providers' shades (a Briq channel in Wassist's blue
    would read as Wassist's). Shades go round every group of ``frame`` (the chart's data
    before any period thinned it) in the order of their names, so that a group looks alike
    in every chart drawn from one frame, whichever groups each chart keeps.
    """
    columns = _columns(by)
    if columns == ["provider"]:
        return {key: (PROVIDER_COLOURS.get(_key_texts(key)[0], NEUTRAL), 0) for key in keys}
    family = _families(columns, frame)
    every = sorted(set(family) | {_key_texts(key) for key in keys})
    place = {}
    rank_in: dict[Any, int] = {}
    for texts in every:
        provider = texts[columns.index("provider")] if "provider" in columns else family.get(texts)
        shades = PROVIDER_SHADES.get(provider, _GROUP_PALETTE)  # type: ignore[arg-type]
        rank = rank_in[provider] = rank_in.get(provider, -1) + 1
        place[texts] = (shades[rank % len(shades)], (rank // len(shades)) % len(_MARKERS))
    return {key: place[_key_texts(key)] for key in keys}


def _key_texts(key: Any) -> tuple[str, ...]:
    """A group's key as text to sort and match by: the same group whether a chart holds it as
    a tuple or a value, missing values ("—", NaN, <NA>) after every name."""
    parts = key if isinstance(key, tuple) else (key,)
    return tuple(_LAST if _missing(part) else str(part) for part in parts)


def _missing(value: Any) -> bool:
    return value is None or value == "—" or (not isinstance(value, str) and bool(pd.isna(value)))


def _families(columns: list[str], frame: pd.DataFrame) -> dict[tuple[str, ...], Any]:
    """Every group of ``frame`` by ``columns`` (as :func:`_key_texts`), with the one provider
    its rows belong to, ``None`` for a group of several providers."""
    if not columns or any(name not in frame.columns for name in columns) or "provider" not in frame.columns:
        return {}
    pairs = frame[[*columns, "provider"]].astype(object).drop_duplicates()
    family: dict[tuple[str, ...], Any] = {}
    for row in pairs.itertuples(index=False):
        texts = _key_texts(tuple(row[:len(columns)]))
        provider = row[len(columns)]
        family[texts] = provider if family.get(texts, provider) == provider else None
    return family


def _short(label: Any, width: int = 14) -> str:
    text = "—" if pd.isna(label) else str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def _key_label(key: Any, columns: Sequence[str], channels: dict[str, str], width: int = 24) -> str:
    """A group key as words: providers by name, channels by name, anything else shortened."""
    parts = key if isinstance(key, tuple) else (key,)
    words = []
    for column, part in zip(columns, parts, strict=False):
        if column == "provider":
            words.append(PROVIDER_LABELS.get(part, _short(part)))
        elif column == "channel_id":
            words.append(_short(channels.get(part, part), width))
        else:
            words.append(_short(part, width))
    if list(columns[:1]) == ["provider"] and len(words) > 1:
        words = words[1:] + words[:1]  # "Amani Support · Briq": the channel is what people look for
    return " · ".join(words)


def plot_unread_backlog(df: pd.DataFrame, by: str | Sequence[str] | None = ("provider", "channel_id"),
                        ax: Any = None) -> plt.Axes:
    """Unread and read conversations per group, as stacked horizontal bars (one bar, "all",
    with ``by=None``, as the metrics take it).

    Channels show by name (``channel_name``), else by a short id.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    columns = group_columns(df, by) or []
    summary = metrics.unread_summary(df, by=columns or None)
    if summary.empty:
        ax.text(0.5, 0.5, "No conversations", ha="center", va="center", transform=ax.transAxes)
    else:
        summary = summary.sort_values("unread_conversations")
        channels = channel_names_of(df)
        labels = [_key_label(key, columns, channels) if columns else "all" for key in summary.index]
        positions = np.arange(len(summary))
        unread = summary["unread_conversations"].to_numpy()
        read = summary["conversations"].to_numpy() - unread
        ax.barh(positions, unread, color=PALETTE[3], label="unread")
        ax.barh(positions, read, left=unread, color=PALETTE[5], alpha=0.45, label="read")
        for position, count, total, share in zip(positions, unread, summary["conversations"],
                                                 summary["unread_share"], strict=False):
            ax.text(total, position, f" {count:,} of {total:,} ({format_share(share)})", va="center",
                    fontsize=8, color="#333333")
        ax.set_yticks(positions, labels)
        ax.set_xlim(0, float(summary["conversations"].max()) * 1.32)
        # Below the axes: inside, it covered the end of the longest bar's label.
        ax.legend(ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, fontsize=9)
        _counts_on(ax.xaxis)
    ax.set_xlabel("conversations")
    named = [column.replace("_", " ") for column in columns if column != "provider" or len(columns) == 1]
    ax.set_title("Unread backlog" + (" by " + " and ".join(name.replace("channel id", "channel")
                                                         for name in named) if named else ""))
    _tidy(ax, "x")
    return ax


#: How each time-left bucket is written in legends: as in tables, in lower case ("under 1 h").
BUCKET_LEGEND = {band: words[0].lower() + words[1:] for band, words in BUCKET_LABELS.items()}


def plot_expiry_buckets(df: pd.DataFrame, by: str | None = "provider", as_of: Any = None,
                        ax: Any = None) -> plt.Axes:
    """Open reply windows per time-left bucket, stacked per group; each group's closed windows
    are counted in its label.

    Closed windows are most of an inbox (every thread quiet for a day): drawn, their bar
    squeezed the open ones, the ones that need action, into slivers.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    summary = metrics.expiry_summary(df, by=by, as_of=as_of)
    left = np.zeros(len(summary))
    positions = np.arange(len(summary))
    for bucket in metrics.BUCKETS:
        if bucket == "closed":
            continue
        counts = summary[bucket].to_numpy() if len(summary) else np.array([])
        ax.barh(positions, counts, left=left, height=0.6, color=BUCKET_COLOURS[bucket],
                label=BUCKET_LEGEND[bucket])
        left = left + counts
    channels = channel_names_of(df)
    closed = summary["closed"].tolist() if len(summary) else []
    ax.set_yticks(positions, [f"{_key_label(label, [by or ''], channels)}\n({count:,} closed)"
                              for label, count in zip(summary.index, closed, strict=True)])
    ax.invert_yaxis()  # first group on top, in the order of the tables
    _counts_on(ax.xaxis)
    ax.set_xlabel("open windows")
    ax.set_title("Open reply windows by time left")
    ax.legend(title="time left in the window", ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              frameon=False, fontsize=9, title_fontsize=9)
    _tidy(ax, "x")
    return ax


def plot_expiry_timeline(df: pd.DataFrame, as_of: Any = None, freq: Any = "1h", horizon: Any = "24h",
                         ax: Any = None, tz: str | None = None) -> plt.Axes:
    """Open windows closing in each interval of the next ``horizon``, on the local clock.

    Parameters
    ----------
    tz : str, optional
        IANA zone of the clock times on the axis; default ``WA_TOOLKIT_TZ``, else UTC.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    zone = resolve_tz(tz)
    timeline = metrics.expiry_timeline(df, as_of=as_of, freq=freq, horizon=horizon)
    hours_ahead = (timeline.index - timeline.index[0]) / pd.Timedelta(hours=1) if len(timeline) else []
    width = duration(freq, "freq") / pd.Timedelta(hours=1)
    # One neutral colour: these are all providers together, not one of them.
    ax.bar(hours_ahead, timeline.to_numpy(), width=width * 0.85, align="edge", color=NEUTRAL)
    if len(timeline):
        # Ticks on whole local hours, a few hours apart, placed where that clock time falls.
        first = timeline.index[0].tz_convert(zone)
        span = len(timeline) * width
        step = max(1, int(np.ceil(span / 8)))
        hours = pd.date_range(first.ceil("h"), first + pd.Timedelta(hours=span), freq="h")
        hours = hours[hours.hour % step == 0] if step <= 24 else hours[::step]
        ax.set_xticks((hours - first) / pd.Timedelta(hours=1), [f"{moment:%H:%M}" for moment in hours])
        ax.set_xlim(0, span)
        ax.set_xlabel(f"closing time ({zone_label(zone, first)}), from {first:%a %d %b %H:%M}")
    else:
        ax.set_xlabel("hours ahead")
    _counts_on(ax.yaxis)
    ax.set_ylabel("windows closing")
    hours = duration(horizon, "horizon") / pd.Timedelta(hours=1)
    if not timeline.to_numpy().any():  # said, as the other charts say they are empty
        ax.text(0.5, 0.5, f"No reply window closes in the next {hours:g} hours", ha="center", va="center",
                transform=ax.transAxes, color="#555555")
    ax.set_title(f"Reply windows closing in the next {hours:g} hours")
    _tidy(ax, "y")
    return ax


#: Bands of waiting time, in hours, and how they are written; the window closes at 24 h.
WAIT_BANDS = [0, 1, 4, 12, 24, 48, 168, np.inf]
WAIT_BAND_LABELS = ["under 1 h", "1–4 h", "4–12 h", "12–24 h", "1–2 days", "2–7 days", "over 7 days"]


def plot_unread_wait(df: pd.DataFrame, by: str = "provider", as_of: Any = None, ax: Any = None) -> plt.Axes:
    """How long unread conversations have waited, as side-by-side bars per group and band of time.

    Bands past 24 hours are shaded: there the reply window has closed and only a paid
    template can reach the customer.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    # Rows matched by position: two loaders' frames put end to end repeat their row labels.
    df = df.reset_index(drop=True)
    hours = metrics.unread_wait(df, as_of) / pd.Timedelta(hours=1)
    known = hours.notna()
    bands = pd.cut(hours[known], WAIT_BANDS, right=False, labels=WAIT_BAND_LABELS)
    groups = df.loc[known, by].astype(object).where(df.loc[known, by].notna(), "—")
    counts = pd.crosstab(bands, groups).reindex(WAIT_BAND_LABELS, fill_value=0)
    if isinstance(df[by].dtype, pd.CategoricalDtype):  # the column's own order (wassist, briq)
        counts = counts[[name for name in df[by].cat.categories if name in counts.columns]
                        + [name for name in counts.columns if name not in df[by].cat.categories]]
    positions = np.arange(len(WAIT_BAND_LABELS))
    ax.axvspan(3.5, len(WAIT_BAND_LABELS) - 0.5, color="#f1f1f1", zorder=0)
    if counts.shape[1]:
        width = 0.8 / counts.shape[1]
        channels = channel_names_of(df)
        looks = _looks(by, list(counts.columns), df)
        for number, (name, column) in enumerate(counts.items()):
            offset = (number - (counts.shape[1] - 1) / 2) * width
            colour, round_ = looks[name]
            label = f"{_key_label(name, [by], channels)} ({int(column.sum()):,} unread)"
            ax.bar(positions + offset, column.to_numpy(), width=width * 0.95, color=colour, label=label,
                   hatch=_HATCHES[round_], edgecolor="white", linewidth=0.4)
            for position, value in zip(positions + offset, column.to_numpy(), strict=False):
                if value:
                    ax.text(position, value, f"{value:,}", ha="center", va="bottom", fontsize=7,
                            color="#333333")
        ax.legend(frameon=False, fontsize=9, loc="upper left")
    else:
        ax.text(0.5, 0.5, "No unread conversations", ha="center", va="center", transform=ax.transAxes)
    ax.text(3.6, 0.97, "window closed:\ntemplate needed", transform=ax.get_xaxis_transform(), fontsize=8,
            va="top", color="#555555")
    # Room above the tallest bar for its count and for the shaded band's words.
    ax.set_ylim(0, max(int(counts.to_numpy().max(initial=0)), 1) * 1.35)
    ax.set_xticks(positions, WAIT_BAND_LABELS, fontsize=8)
    ax.set_xlim(-0.5, len(WAIT_BAND_LABELS) - 0.5)
    _counts_on(ax.yaxis)
    ax.set_xlabel("time since the customer's last message")
    ax.set_ylabel("unread conversations")
    ax.set_title("How long unread conversations have waited")
    _tidy(ax, "y")
    return ax


def plot_at_risk(df: pd.DataFrame, within: Any = AT_RISK_WITHIN, as_of: Any = None, limit: int = 15,
                 ax: Any = None) -> plt.Axes:
    """The soonest-closing unread conversations as a table-like bar chart.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a whole number of bars, 1 or more, got {limit!r}")
    ax = _axes(ax)
    every = metrics.at_risk(df, within=within, as_of=as_of)
    risky = every.head(limit)
    horizon = horizon_words(within)
    if every.empty:
        # No bars: an axis of minutes around zero says nothing; when the next window closes does.
        ax.text(0.5, 0.5, next_window_words(df, as_of).replace("; ", ";\n"), ha="center",
                va="center", fontsize=9, color="#444444", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("minutes until the reply window closes")
        ax.set_title(f"Unread conversations whose window closes within {horizon}: none")
        _tidy(ax, "x")
        return ax
    minutes = (risky["window_remaining"] / pd.Timedelta(minutes=1)).to_numpy(dtype=float)
    labels = [f"{_short(name, 18)}  ·  {_short(phone, 14)}  ·  {PROVIDER_LABELS.get(provider, provider)}"
              for name, phone, provider in zip(risky["contact_name"], risky["contact_phone"],
                                               risky["provider"], strict=True)]
    positions = np.arange(len(risky))[::-1]
    ax.barh(positions, minutes, color=PALETTE[3])
    for position, value in zip(positions, minutes, strict=False):
        ax.text(value, position, f" {value:,.0f} min", va="center", fontsize=8)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlabel("minutes until the reply window closes")
    shown = f" ({len(risky):,} soonest of {len(every):,})" if len(every) > len(risky) else ""
    ax.set_title(f"Unread conversations whose window closes within {horizon}{shown}")
    _tidy(ax, "x")
    return ax


# -- trends over snapshots -----------------------------------------------------------------


def _with_attrs(frame: pd.DataFrame, attrs: dict) -> pd.DataFrame:
    """``frame`` carrying ``attrs`` (a trend's period, which unstacking and grouping drop)."""
    frame.attrs = dict(attrs)
    return frame


def _local_times(times: Any, zone: str) -> pd.DatetimeIndex:
    """tz-aware times as naive wall-clock times in ``zone``, which matplotlib draws as they are."""
    index = pd.DatetimeIndex(times)
    index = index.tz_localize("UTC") if index.tz is None else index
    return index.tz_convert(zone).tz_localize(None)


def _trend_times(trend: pd.DataFrame, zone: str) -> tuple[pd.DatetimeIndex, str | None]:
    """Where a trend's rows go along x, and the axis' words when they are days.

    A trend by day or longer (``freq="D"``) labels each row with its period's start, a UTC
    midnight: drawn on the local clock, a day west of UTC would land on the evening before.
    Such rows are drawn at their UTC day, on an axis that says so; a trend of every snapshot
    at the snapshots' own times, on the local clock.
    """
    moments = pd.DatetimeIndex(trend.index.get_level_values(0))
    period = trend_period(trend)
    if period is not None and period >= pd.Timedelta(days=1):
        # The days of the zone that cut them (the trend's tz=), as dates.
        own = "UTC" if moments.tz is None else str(moments.tz)
        days = moments.tz_localize(None)
        words = "day" if period == pd.Timedelta(days=1) else "period from"
        return days, f"{words} ({zone_label(own, moments.max())})"
    if period is not None:  # "12h": each row is a period, drawn at its start
        latest = pd.DatetimeIndex(moments).max()
        return _local_times(moments, zone), f"period start ({zone_label(zone, latest)})"
    return _local_times(moments, zone), None


def _date_axis(ax: plt.Axes, zone: str, moment: Any, label: str | None = None) -> None:
    """Snapshot times along x, days written with their month; a single moment gets a day around it.

    ``label`` replaces the axis' words ("snapshot time (EAT)"): a trend's days (:func:`_trend_times`).
    """
    low, high = ax.xaxis.get_data_interval()
    if not (np.isfinite(low) and np.isfinite(high)):
        pass  # nothing drawn (no snapshot had an unread conversation): matplotlib's own limits
    elif high == low:
        # One snapshot time: matplotlib would widen the axis to years around it; half a day
        # either side keeps the ticks in hours.
        ax.set_xlim(low - 0.5, high + 0.5)
    elif high - low < 1 / 24:
        # Snapshots minutes or seconds apart: spread across the axis (a day around them drew
        # them as one stack of dots), with ticks in minutes or seconds.
        pad = max((high - low) / 10, 1 / 86_400)
        ax.set_xlim(low - pad, high + pad)
    _dated(ax.xaxis)
    ax.set_xlabel(label or f"snapshot time ({zone_label(zone, moment)})")


def _dated(axis: Any) -> None:
    """Concise date ticks that name the month on day ticks ("08 Nov", not "08")."""
    # minticks 3: a few days of bars get a tick a day (the default of 5 falls back to hours).
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    formatter = mdates.ConciseDateFormatter(locator, show_offset=False)
    # Day ticks, the first of a month among them, and midnight among hour ticks: "02 Dec".
    formatter.formats[2] = formatter.zero_formats[2] = formatter.zero_formats[3] = "%d %b"
    # Second ticks (snapshots seconds apart) with their clock: "22:39:15", not a bare "15".
    formatter.formats[5] = "%H:%M:%S"
    axis.set_major_locator(locator)
    axis.set_major_formatter(formatter)


def _legend_beside(ax: plt.Axes, entries: int) -> None:
    """Few entries inside the plot, with room made above the lines for them
    (:func:`_room_for_the_legend`); many below it, so that no line hides behind the legend."""
    if entries > 4:
        # As many columns as the longest label leaves room for across the figure's width.
        longest = max((len(label) for label in ax.get_legend_handles_labels()[1]), default=0)
        fits = 4 if longest <= 16 else 3 if longest <= 24 else 2
        ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  ncols=min(fits, (entries + 1) // 2))
    else:
        ax.legend(frameon=False, fontsize=9, loc="upper left")
        _room_for_the_legend(ax)


def _room_for_the_legend(ax: plt.Axes) -> None:
    """Raise the top of a line chart whose legend sits inside it, so that the legend lies above
    the lines: a flat line at the top (a backlog that did not move) ran under it. Bars (no
    marked lines) are left as they are."""
    lines = [line for line in ax.get_lines() if line.get_marker() != "None"]  # not the 24 h mark
    values = [np.asarray(line.get_ydata(), dtype=float) for line in lines]
    highest = max((float(np.nanmax(v)) for v in values if np.isfinite(v).any()), default=0.0)
    low, high = ax.get_ylim()
    if highest > 0:
        ax.set_ylim(low, max(high, highest * 1.3))


def _by_words(columns: Sequence[str], otherwise: str) -> str:
    """A title's groups in words (" by provider and channel"); ``otherwise`` without groups."""
    named = [column.replace("_", " ").replace("channel id", "channel") for column in columns]
    return " by " + " and ".join(named) if named else otherwise


def _columns(by: str | Sequence[str] | None) -> list[str]:
    return [] if by is None else [by] if isinstance(by, str) else list(by)


def plot_unread_trend(history: pd.DataFrame, by: str | Sequence[str] | None = "provider", freq: Any = None,
                      ax: Any = None, tz: str | None = None) -> plt.Axes:
    """Unread conversations at each snapshot, one line per group (see :func:`toolkit.unread_trend`).

    Parameters
    ----------
    tz : str, optional
        IANA zone of the times on the axis, and with ``freq`` the zone whose clock cuts the
        periods (its days); default ``WA_TOOLKIT_TZ``, else UTC.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .trends import unread_trend

    ax = _axes(ax)
    zone = resolve_tz(tz)
    columns = _columns(by)
    # Periods cut on the axis' clock: days of the zone the chart shows.
    table = unread_trend(history, by=by, freq=freq, tz=None if freq is None else zone)
    trend = table["unread_conversations"]
    if trend.empty:
        ax.text(0.5, 0.5, "No snapshots", ha="center", va="center", transform=ax.transAxes)
    else:
        channels = channel_names_of(history)
        # A group absent from a snapshot (its provider not pulled then) is a gap in its line,
        # not a fall to zero.
        wide = (trend.unstack(list(range(1, trend.index.nlevels))).astype("float64") if columns
                else trend.to_frame("all"))
        # Largest backlog first, so the legend reads from the biggest worry down.
        wide = wide[wide.iloc[-1].sort_values(ascending=False).index]
        times, days = _trend_times(_with_attrs(wide, table.attrs), zone)
        looks = _looks(by, list(wide.columns), history)
        for key, series in wide.items():
            colour, round_ = looks[key]
            ax.plot(times, series.to_numpy(), marker=_MARKERS[round_], markersize=3 if round_ == 0 else 4,
                    linestyle=_LINE_STYLES[round_], linewidth=1.6, color=colour,
                    label=_key_label(key, columns, channels) if columns else "all")
        _legend_beside(ax, wide.shape[1])
        _date_axis(ax, zone, trend.index.get_level_values(0).max(), days)
    _counts_on(ax.yaxis)
    ax.set_ylabel("unread conversations")
    ax.set_ylim(bottom=0)
    ax.set_title("Unread backlog over time" + _by_words(columns, ""))
    _tidy(ax, "y")
    return ax


def plot_closed_unread(history: pd.DataFrame, by: str | Sequence[str] | None = "provider",
                       ax: Any = None, tz: str | None = None) -> plt.Axes:
    """Windows that closed with unread messages, per day, stacked per group (see
    :func:`toolkit.closed_unread_by_day`).

    Parameters
    ----------
    tz : str, optional
        IANA zone whose days the bars count; default ``WA_TOOLKIT_TZ``, else UTC.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .trends import closed_unread_by_day

    ax = _axes(ax)
    zone = resolve_tz(tz)
    columns = _columns(by)
    table = closed_unread_by_day(history, by=by, tz=zone)
    if table.empty:
        ax.text(0.5, 0.5, "No snapshots", ha="center", va="center", transform=ax.transAxes)
    else:
        channels = channel_names_of(history)
        bottom = np.zeros(len(table))
        days = table.index.tz_localize(None).normalize()  # a day a clock change starts at 01:00
        looks = _looks(by, list(table.columns), history)
        for key, counts in table.items():
            colour, round_ = looks[key]
            ax.bar(days, counts.to_numpy(), bottom=bottom, width=0.8, color=colour,
                   hatch=_HATCHES[round_], edgecolor="white", linewidth=0.4,
                   label=_key_label(key, columns, channels) if columns else str(key))
            bottom += counts.to_numpy()
        _legend_beside(ax, table.shape[1])
        if not table.to_numpy().any():
            ax.text(0.5, 0.5, "No reply window closed with unread messages", ha="center", va="center",
                    transform=ax.transAxes, color="#555555")
        low, high = ax.xaxis.get_data_interval()
        if high - low < 2:  # a day or two of bars: a few days around them, not hours between
            ax.set_xlim(low - 1.5, high + 1.5)
        _dated(ax.xaxis)
        ax.set_xlabel(f"day the window closed ({zone_label(zone, table.index.max())})")
    _counts_on(ax.yaxis)
    ax.set_ylabel("windows closed unread")
    ax.set_title("Reply windows lost per day (a template is needed)")
    _tidy(ax, "y")
    return ax


def plot_wait_trend(history: pd.DataFrame, by: str | Sequence[str] | None = None, freq: Any = None,
                    percentiles: Sequence[float] = (0.5, 0.9), ax: Any = None,
                    tz: str | None = None) -> plt.Axes:
    """How long unread conversations have waited, as percentile lines over the snapshots.

    Parameters
    ----------
    tz : str, optional
        IANA zone of the times on the axis, and with ``freq`` the zone whose clock cuts the
        periods (its days); default ``WA_TOOLKIT_TZ``, else UTC.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .trends import wait_trend

    ax = _axes(ax)
    zone = resolve_tz(tz)
    columns = _columns(by)
    trend = wait_trend(history, by=by, freq=freq, percentiles=percentiles, tz=None if freq is None else zone)
    names = [column for column in trend.columns if column != "count"]
    if trend.empty:
        ax.text(0.5, 0.5, "No snapshots", ha="center", va="center", transform=ax.transAxes)
    else:
        channels = channel_names_of(history)
        days = None
        groups = list(trend.groupby(level=list(range(1, trend.index.nlevels)), sort=False))
        looks = _looks(by, [key for key, _ in groups], history)
        for key, rows in groups:
            colour, round_ = looks[key]
            times, days = _trend_times(_with_attrs(rows, trend.attrs), zone)
            for style, name in zip(("-", "--", ":", "-."), names, strict=False):
                words = _percentile_words(name)
                label = words if by is None else f"{_key_label(key, columns, channels)}, {words}"
                # Markers: a lone snapshot shows as a dot, not as an invisible line.
                # The line style tells the percentile here: a further round of colours has its marker.
                ax.plot(times, rows[name].to_numpy(), linestyle=style, linewidth=1.6,
                        marker=_MARKERS[round_], markersize=3 if round_ == 0 else 5,
                        color=NEUTRAL if by is None else colour,
                        label=label)
        ax.axhline(24, color="#888888", linewidth=0.8, linestyle=":")
        # Above the lines, on a white ground: the lines cross the 24 h mark.
        # At the right end: the legend holds the upper left.
        ax.text(0.99, 24, "24 h: window closes", transform=ax.get_yaxis_transform(), fontsize=8, va="bottom",
                ha="right", color="#555555", zorder=5,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
        _legend_beside(ax, len(groups) * len(names))
        _date_axis(ax, zone, trend.index.get_level_values(0).max(), days)
    ax.set_ylabel("hours waited (unread conversations)")
    ax.set_ylim(bottom=0)
    if not trend.empty and ax.get_ylim()[1] < WINDOW_LINE_ROOM:
        ax.set_ylim(top=WINDOW_LINE_ROOM)  # waits under a day: the 24 h line and its words still inside
    # Without groups the lines pool every provider: said, as the other charts name their groups.
    ax.set_title("Waiting time of unread conversations" + _by_words(columns, " (all providers)"))
    _tidy(ax, "y")
    return ax


#: Hours the wait chart's axis reaches at least: the 24 h line with its words above it.
WINDOW_LINE_ROOM = 28


def _percentile_words(name: str) -> str:
    """A percentile column's name in words: ``p50`` -> ``median``, ``p90`` -> ``90th percentile``."""
    text = str(name)
    if text.lower() in ("p50", "median", "50%"):
        return "median"
    digits = "".join(ch for ch in text if ch.isdigit())
    return f"{digits}th percentile" if digits else text
