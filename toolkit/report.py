"""A single self-contained HTML report: headline numbers, charts, the at-risk list."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from . import metrics, plots
from ._files import write_atomically
from ._frames import resolve_as_of
from ._redact import redact
from ._tz import describe_tz, resolve_tz
from .channels import channel_labels

__all__ = ["build_report", "write_report"]

_STYLE = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;
background:#f6f7f9;color:#1d2330}
header{background:#0b3d5c;color:#fff;padding:24px 40px}header h1{margin:0 0 6px;font-size:24px}
header p{margin:0;opacity:.85;font-size:14px}main{padding:24px 40px;max-width:1200px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:14px;margin-bottom:24px}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card .value{font-size:28px;font-weight:600}.card .label{font-size:13px;color:#566}
.card.warn .value{color:#D55E00}
section{background:#fff;border-radius:10px;padding:18px 22px;margin-bottom:20px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}section h2{margin-top:0;font-size:18px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:18px}
img{max-width:100%;height:auto}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6ea}th{background:#f0f2f5}
td.num,th.num{text-align:right}details.checks{margin:0 0 20px;font-size:14px}
details.checks summary{cursor:pointer}footer{color:#667;font-size:12px;padding:0 40px 30px}
"""


def _figure_to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _chart(draw: Any, *args: Any, **kwargs: Any) -> str:
    # A bare Figure renders without pyplot: no backend or global state is touched.
    figure = Figure(figsize=(7.5, 4.2))
    draw(*args, ax=figure.subplots(), **kwargs)
    return _figure_to_data_uri(figure)


def _table(frame: pd.DataFrame, numeric: AbstractSet[str] = frozenset()) -> str:
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(str(c))}</th>'
                   for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="{"num" if column in numeric else ""}">'
            f'{html.escape("" if pd.isna(value) else str(value))}</td>'
            for column, value in zip(frame.columns, record, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def headline(df: pd.DataFrame, as_of: Any = None, within: str = "2h") -> dict[str, Any]:
    """The report's headline numbers, computed by the metric functions."""
    everything = metrics.unread_summary(df, by=None).iloc[0]
    buckets = metrics.expiry_summary(df, by=None, as_of=as_of).iloc[0]
    return {
        "conversations": int(everything["conversations"]),
        "unread_conversations": int(everything["unread_conversations"]),
        "unread_share": (float(everything["unread_share"]) if pd.notna(everything["unread_share"])
                         else float("nan")),
        "open_windows": int(buckets.drop("closed").sum()),
        "closing_within_1h": int(buckets["<1h"]),
        "at_risk": len(metrics.at_risk(df, within=within, as_of=as_of)),
        "needs_template": len(metrics.closed_with_unread(df, as_of=as_of)),
    }


def build_report(df: pd.DataFrame, *, as_of: Any = None, within: str = "2h",
                 title: str = "WhatsApp backlog report", source: str | None = None,
                 history: pd.DataFrame | None = None, tz: str | None = None) -> str:
    """The report as one HTML string with every chart embedded.

    Parameters
    ----------
    df : pandas.DataFrame
        A unified frame.
    as_of : optional
        As for the metrics (default: the snapshot's time).
    within : str, default "2h"
        Horizon of the at-risk list.
    title : str
    source : str, optional
        Where the data came from (e.g. "built-in sandbox"); base URLs from
        ``df.attrs`` are listed too.
    history : pandas.DataFrame, optional
        Snapshots (:func:`toolkit.load_snapshots`); adds a section on how the backlog
        moved: unread over time, windows lost per day, waiting times, threads left unread.
    tz : str, optional
        IANA zone the report shows times in (default ``WA_TOOLKIT_TZ``, else UTC); the
        report says which.

    Returns
    -------
    str
    """
    zone = resolve_tz(tz)
    moment = resolve_as_of(df, as_of)
    zone_label = describe_tz(zone, moment)
    numbers = headline(df, moment, within)
    share = numbers["unread_share"]
    cards = [
        ("conversations", f"{numbers['conversations']:,}", False),
        ("unread conversations", f"{numbers['unread_conversations']:,}"
         + (f" ({share:.0%})" if share == share else ""), False),
        ("open reply windows", f"{numbers['open_windows']:,}", False),
        ("windows closing within 1 h", f"{numbers['closing_within_1h']:,}", numbers["closing_within_1h"] > 0),
        (f"unread, window closes within {within}", f"{numbers['at_risk']:,}", numbers["at_risk"] > 0),
        ("unread, window closed (template needed)", f"{numbers['needs_template']:,}",
         numbers["needs_template"] > 0),
    ]
    cards_html = "".join(
        f'<div class="card{" warn" if warn else ""}"><div class="value">{html.escape(value)}</div>'
        f'<div class="label">{html.escape(label)}</div></div>' for label, value, warn in cards)
    charts = [
        _chart(plots.plot_unread_backlog, df),
        _chart(plots.plot_expiry_buckets, df, as_of=moment),
        _chart(plots.plot_expiry_timeline, df, as_of=moment),
        _chart(plots.plot_unread_wait, df, as_of=moment),
    ]
    charts_html = "".join(f'<img alt="chart" src="{uri}">' for uri in charts)
    risky = metrics.at_risk(df, within=within, as_of=moment)
    risk_table = pd.DataFrame({
        "provider": risky["provider"].astype(str),
        "contact": risky["contact_name"].astype(object).where(risky["contact_name"].notna(), ""),
        "phone": risky["contact_phone"].astype(object),
        "channel": channel_labels(risky).astype(object),
        "unread messages": risky["unread_count"].astype(object),
        "last message": risky["last_message_at"].dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M"),
        "minutes left": (risky["window_remaining"] / pd.Timedelta(minutes=1)).round(0).astype("Int64"),
    })
    summary = metrics.unread_summary(df).reset_index()
    summary["unread_share"] = summary["unread_share"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    expiry = metrics.expiry_summary(df, as_of=moment).reset_index()
    fetched = df["fetched_at"]
    first, last = fetched.min(), fetched.max()
    pulled = (f"{first.tz_convert(zone):%Y-%m-%d %H:%M:%S} – {last.tz_convert(zone):%H:%M:%S}"
              if len(df) else "no rows")
    origins = sorted({str(pull.get("base_url")) for pull in _pulls(df) if pull.get("base_url")})
    where = ", ".join(origins) or "unknown"
    if source:
        where = f"{source} ({where})"
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<header><h1>{html.escape(title)}</h1>
<p>As of {moment.tz_convert(zone):%Y-%m-%d %H:%M} · data pulled {html.escape(pulled)}
from {html.escape(where)}</p>
<p>Times in {html.escape(zone_label)}</p>
</header>
<main><div class="cards">{cards_html}</div>
{_data_checks(df, history)}
<section><h2>Unread conversations whose reply window closes within {html.escape(within)}</h2>
{_table(risk_table, {"unread messages", "minutes left"}) if len(risk_table) else "<p>None right now.</p>"}
</section>
<section><h2>Charts</h2><div class="charts">{charts_html}</div></section>
<section><h2>Unread backlog by provider</h2>{_table(summary, set(summary.columns) - {"provider"})}</section>
<section><h2>Reply windows by time left</h2>{_table(expiry, set(expiry.columns) - {"provider"})}</section>
{_trends_section(history) if history is not None else ""}
</main><footer>A reply window is WhatsApp's 24 hours after the customer's last message; once it closes, only
paid, pre-approved templates can be sent. Generated by wa-toolkit.</footer></body></html>"""
    return redact(body)


def _data_checks(df: pd.DataFrame, history: pd.DataFrame | None) -> str:
    """One line on whether the data passes :func:`toolkit.check_conversations`; the findings a click away."""
    from .checks import check_conversations

    checked = {"this pull": check_conversations(df)}
    if history is not None and len(history):
        checked["the history"] = check_conversations(history)
    counts = pd.DataFrame({where: result["offending_rows"] for where, result in checked.items()})
    failing = counts[counts.sum(axis=1) > 0]
    scope = " and ".join(checked)
    if failing.empty:
        line = f"Data checks: all {len(counts)} passed on {scope}."
    else:
        found = ", ".join(f"{name.replace('_', ' ')} ({int(total):,} row{'' if total == 1 else 's'})"
                          for name, total in failing.sum(axis=1).items())
        line = (f"Data checks: {len(failing)} of {len(counts)} found rows that cannot be right in {scope}: "
                f"{found}.")
    first = next(iter(checked.values()))
    table = pd.DataFrame({"check": counts.index,
                          "what it flags": first["description"].astype(object).to_numpy(),
                          **{f"rows in {where}": counts[where].to_numpy() for where in checked},
                          "examples": [", ".join(dict.fromkeys(example for result in checked.values()
                                                               for example in result.loc[name, "examples"]))
                                       for name in counts.index]})
    return (f'<details class="checks"><summary>{html.escape(line)}</summary>'
            f'{_table(table, {f"rows in {where}" for where in checked})}</details>')


def _trends_section(history: pd.DataFrame) -> str:
    """Charts and a table of how the backlog moved across the snapshots."""
    from . import trends

    if history.empty:
        return "<section><h2>Trends</h2><p>No snapshots yet.</p></section>"
    moments = history["snapshot_at"]
    charts = [
        _chart(plots.plot_unread_trend, history, by="provider", freq="D"),
        _chart(plots.plot_unread_trend, history, by="channel_id", freq="D"),
        _chart(plots.plot_closed_unread, history, by="provider"),
        _chart(plots.plot_wait_trend, history, freq="D"),
    ]
    stuck = trends.persistent_unread(history, min_snapshots=2)
    stuck = stuck[stuck["still_unread"]].head(15)
    table = pd.DataFrame({
        "provider": stuck["provider"].astype(str),
        "contact": stuck["contact_name"].astype(object).where(stuck["contact_name"].notna(), ""),
        "channel": stuck["channel_id"].astype(object),
        "unread since (UTC)": stuck["first_unread_at"].dt.strftime("%Y-%m-%d %H:%M"),
        "snapshots unread": stuck["snapshots"].astype(object),
        "unread messages": stuck["unread_count"].astype(object),
    })
    simulated = bool(history.attrs.get("simulated"))
    label = " of a simulated history" if simulated else ""
    note = ("<p><strong>Simulated history:</strong> these snapshots come from a model of an inbox, not from "
            "past pulls; the latest one is the pull above.</p>") if simulated else ""
    return f"""<section><h2>Trends over {moments.nunique():,} snapshots{label}
({moments.min():%Y-%m-%d} – {moments.max():%Y-%m-%d})</h2>{note}
<div class="charts">{"".join(f'<img alt="trend chart" src="{uri}">' for uri in charts)}</div>
<h3>Still unread across consecutive snapshots</h3>
{_table(table, {"snapshots unread", "unread messages"}) if len(table) else "<p>None.</p>"}</section>"""


def _pulls(df: pd.DataFrame) -> list[dict[str, Any]]:
    if "pull" in df.attrs:
        return [df.attrs["pull"]]
    return list(df.attrs.get("pulls", {}).values())


def write_report(df: pd.DataFrame, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write :func:`build_report` to ``path`` atomically and return the path."""
    page = build_report(df, **options)
    return write_atomically(path, lambda handle: handle.write(page))
