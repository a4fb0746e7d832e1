"""Charts of a unified frame (matplotlib). Each takes an optional ``ax`` and returns it.

Colours come from the Okabe-Ito palette, which stays distinguishable with the common
forms of colour blindness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import metrics

__all__ = ["PALETTE", "plot_unread_backlog", "plot_expiry_buckets", "plot_expiry_timeline",
           "plot_unread_wait", "plot_at_risk", "plot_unread_trend", "plot_closed_unread", "plot_wait_trend"]

#: Okabe-Ito, colour-blind safe.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: Buckets from calm to urgent: closed is grey, the soonest closings the warmest.
BUCKET_COLOURS = {"closed": "#999999", "<1h": "#D55E00", "1-4h": "#E69F00", "4-12h": "#56B4E9",
                  "12-24h": "#0072B2"}


def _axes(ax: Any) -> plt.Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    return ax


def _short(label: Any, width: int = 14) -> str:
    text = "—" if pd.isna(label) else str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_unread_backlog(df: pd.DataFrame, by: str | Sequence[str] = ("provider", "channel_id"),
                        ax: Any = None) -> plt.Axes:
    """Unread and read conversations per group, as stacked horizontal bars.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    columns = [by] if isinstance(by, str) else list(by)
    summary = metrics.unread_summary(df, by=columns)
    if summary.empty:
        ax.text(0.5, 0.5, "No conversations", ha="center", va="center", transform=ax.transAxes)
    else:
        summary = summary.sort_values("unread_conversations")
        labels = [" / ".join(_short(part) for part in (key if isinstance(key, tuple) else (key,)))
                  for key in summary.index]
        positions = np.arange(len(summary))
        unread = summary["unread_conversations"].to_numpy()
        read = summary["conversations"].to_numpy() - unread
        ax.barh(positions, unread, color=PALETTE[3], label="unread")
        ax.barh(positions, read, left=unread, color=PALETTE[0], alpha=0.35, label="read")
        for position, count, share in zip(positions, unread, summary["unread_share"], strict=True):
            ax.text(count, position, f" {count} ({share:.0%})", va="center", fontsize=8)
        ax.set_yticks(positions, labels)
        ax.legend(loc="lower right", frameon=False)
    ax.set_xlabel("conversations")
    ax.set_title("Unread backlog by " + " and ".join(column.replace("_", " ") for column in columns))
    return ax


def plot_expiry_buckets(df: pd.DataFrame, by: str | None = "provider", as_of: Any = None,
                        ax: Any = None) -> plt.Axes:
    """Reply windows per time-left bucket, stacked per group.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    summary = metrics.expiry_summary(df, by=by, as_of=as_of)
    left = np.zeros(len(summary))
    positions = np.arange(len(summary))
    for bucket in metrics.BUCKETS:
        counts = summary[bucket].to_numpy() if len(summary) else np.array([])
        ax.barh(positions, counts, left=left, color=BUCKET_COLOURS[bucket], label=bucket)
        left = left + counts
    ax.set_yticks(positions, [_short(label) for label in summary.index])
    ax.set_xlabel("conversations")
    ax.set_title("Reply windows by time left")
    ax.legend(title="time left", ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
    return ax


def plot_expiry_timeline(df: pd.DataFrame, as_of: Any = None, freq: Any = "1h", horizon: Any = "24h",
                         ax: Any = None) -> plt.Axes:
    """Open windows closing in each interval of the next ``horizon``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    timeline = metrics.expiry_timeline(df, as_of=as_of, freq=freq, horizon=horizon)
    hours_ahead = (timeline.index - timeline.index[0]) / pd.Timedelta(hours=1) if len(timeline) else []
    width = pd.Timedelta(freq) / pd.Timedelta(hours=1)
    ax.bar(hours_ahead, timeline.to_numpy(), width=width * 0.9, align="edge", color=PALETTE[1])
    ax.set_xlabel(f"hours from {timeline.index[0]:%Y-%m-%d %H:%M} UTC" if len(timeline) else "hours ahead")
    ax.set_ylabel("windows closing")
    ax.set_title(f"Reply windows closing in the next {pd.Timedelta(horizon) / pd.Timedelta(hours=1):g} hours")
    return ax


def plot_unread_wait(df: pd.DataFrame, by: str = "provider", as_of: Any = None, ax: Any = None) -> plt.Axes:
    """Distribution of how long unread conversations have waited, in hours.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    hours = metrics.unread_wait(df, as_of) / pd.Timedelta(hours=1)
    groups = df[by].astype(object).where(df[by].notna(), "—")
    top = float(np.nanmax(hours.to_numpy(dtype=float, na_value=np.nan))) if hours.notna().any() else 24.0
    bins = np.linspace(0, max(top, 1.0), 25)
    for index, (name, values) in enumerate(hours.groupby(groups)):
        values = values.dropna()
        if len(values):
            ax.hist(values, bins=bins, alpha=0.6, color=PALETTE[index % len(PALETTE)],
                    label=f"{name} (n={len(values)})")
    ax.axvline(24, color="#444444", linestyle="--", linewidth=1)
    ax.text(24, ax.get_ylim()[1] * 0.95, " 24 h", fontsize=8, va="top")
    ax.set_xlabel("hours since the customer's last message")
    ax.set_ylabel("unread conversations")
    ax.set_title("How long unread conversations have waited")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False)
    return ax


def plot_at_risk(df: pd.DataFrame, within: Any = "2h", as_of: Any = None, limit: int = 15,
                 ax: Any = None) -> plt.Axes:
    """The soonest-closing unread conversations as a table-like bar chart.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    risky = metrics.at_risk(df, within=within, as_of=as_of).head(limit)
    minutes = ((risky["window_remaining"] / pd.Timedelta(minutes=1)).to_numpy(dtype=float) if len(risky)
               else [])
    labels = [f"{_short(name, 18)}  ·  {_short(phone, 14)}  ·  {provider}"
              for name, phone, provider in zip(risky["contact_name"], risky["contact_phone"],
                                               risky["provider"], strict=True)]
    positions = np.arange(len(risky))[::-1]
    ax.barh(positions, minutes, color=PALETTE[3])
    for position, value in zip(positions, minutes, strict=True):
        ax.text(value, position, f" {value:.0f} min", va="center", fontsize=8)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlabel("minutes until the reply window closes")
    ax.set_title(f"Unread conversations whose window closes within {within}"
                 + ("" if len(risky) else ": none"))
    return ax


# -- trends over snapshots -----------------------------------------------------------------


def _group_label(key: Any) -> str:
    return " / ".join(_short(part) for part in (key if isinstance(key, tuple) else (key,)))


def plot_unread_trend(history: pd.DataFrame, by: str | Sequence[str] | None = "provider", freq: Any = None,
                      ax: Any = None) -> plt.Axes:
    """Unread conversations at each snapshot, one line per group (see :func:`toolkit.unread_trend`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .trends import unread_trend

    ax = _axes(ax)
    trend = unread_trend(history, by=by, freq=freq)["unread_conversations"]
    if trend.empty:
        ax.text(0.5, 0.5, "No snapshots", ha="center", va="center", transform=ax.transAxes)
    else:
        wide = trend.unstack(list(range(1, trend.index.nlevels)), fill_value=0)
        for number, (key, series) in enumerate(wide.items()):
            ax.plot(series.index, series.to_numpy(), marker="o", markersize=3,
                    color=PALETTE[number % len(PALETTE)], label=_group_label(key))
        ax.legend(frameon=False, fontsize=8)
        ax.figure.autofmt_xdate()
    ax.set_ylabel("unread conversations")
    ax.set_ylim(bottom=0)
    ax.set_title("Unread backlog over time" + ("" if by is None else " by " + (
        by if isinstance(by, str) else " and ".join(by)).replace("_", " ")))
    return ax


def plot_closed_unread(history: pd.DataFrame, by: str | Sequence[str] | None = "provider",
                       ax: Any = None) -> plt.Axes:
    """Windows that closed with unread messages, per day, stacked per group.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .trends import closed_unread_by_day

    ax = _axes(ax)
    table = closed_unread_by_day(history, by=by)
    if table.empty:
        ax.text(0.5, 0.5, "No snapshots", ha="center", va="center", transform=ax.transAxes)
    else:
        bottom = np.zeros(len(table))
        days = table.index.tz_localize(None)
        for number, (key, counts) in enumerate(table.items()):
            ax.bar(days, counts.to_numpy(), bottom=bottom, width=0.8,
                   color=PALETTE[(number + 3) % len(PALETTE)], label=_group_label(key))
            bottom += counts.to_numpy()
        ax.legend(frameon=False, fontsize=8)
        ax.figure.autofmt_xdate()
    ax.set_ylabel("windows closed with unread messages")
    ax.set_title("Reply windows lost per day (a template is needed)")
    return ax


def plot_wait_trend(history: pd.DataFrame, by: str | Sequence[str] | None = None, freq: Any = None,
                    percentiles: Sequence[float] = (0.5, 0.9), ax: Any = None) -> plt.Axes:
    """How long unread conversations have waited, as percentile lines over the snapshots.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .trends import wait_trend

    ax = _axes(ax)
    trend = wait_trend(history, by=by, freq=freq, percentiles=percentiles)
    names = [column for column in trend.columns if column != "count"]
    if trend.empty:
        ax.text(0.5, 0.5, "No snapshots", ha="center", va="center", transform=ax.transAxes)
    else:
        number = 0
        for key, rows in trend.groupby(level=list(range(1, trend.index.nlevels)), sort=False):
            times = rows.index.get_level_values(0)
            for style, name in zip(("-", "--", ":", "-."), names, strict=False):
                label = name if by is None else f"{_group_label(key)} {name}"
                ax.plot(times, rows[name].to_numpy(), linestyle=style, color=PALETTE[number % len(PALETTE)],
                        label=label)
            number += 1
        ax.legend(frameon=False, fontsize=8)
        ax.figure.autofmt_xdate()
    ax.set_ylabel("hours waited (unread conversations)")
    ax.set_ylim(bottom=0)
    ax.set_title("Waiting time of unread conversations over time")
    return ax
