"""A single self-contained HTML report: headline numbers, charts, the at-risk list."""

from __future__ import annotations

import base64
import html
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from . import metrics, plots
from ._files import write_atomically
from ._frames import require_columns, resolve_as_of
from ._limits import AT_RISK_WITHIN
from ._redact import redact
from ._tz import describe_tz, resolve_tz
from .display import (
    PROVIDER_LABELS,
    channel_names_of,
    duration_words,
    format_count,
    format_share,
    header,
    next_window_words,
    numeric_headers,
    readable,
    zone_label,
)

__all__ = ["build_report", "write_report"]

#: Rows of the at-risk list shown; the rest are in the CSV beside the report.
AT_RISK_ROWS = 50

_STYLE = """
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f4f6f8;
color:#1d2330;font-variant-numeric:tabular-nums}
.wrap{max-width:1280px;margin:0 auto;padding:0 32px}
header{background:#0b3d5c;color:#fff;padding:22px 0 20px}
header h1{margin:0 0 8px;font-size:24px;font-weight:600}header p{margin:2px 0;opacity:.88;font-size:14px}
header .zone{display:inline-block;margin-top:6px;padding:2px 10px;border-radius:12px;
background:rgba(255,255,255,.16);font-size:13px}
main.wrap{padding-top:24px;padding-bottom:8px}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:14px;margin-bottom:18px}
@media (max-width:1100px){.cards{grid-template-columns:repeat(3,1fr)}}
@media (max-width:620px){.cards{grid-template-columns:repeat(2,1fr)}}
.card{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08);
border-top:4px solid #0072B2}
.card .value{font-size:28px;font-weight:650;white-space:nowrap;line-height:1.2}
.card .share{font-size:16px;font-weight:500;color:#566;margin-left:6px}
.card .label{font-size:13px;color:#4d5866;margin-top:4px;line-height:1.3}
.card.warn{border-top-color:#D55E00}.card.warn .value{color:#B34700}
section{background:#fff;border-radius:10px;padding:18px 22px;margin-bottom:20px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
section h2{margin:0 0 12px;font-size:18px}section h3{font-size:15px;margin:18px 0 8px}
.note{color:#566;font-size:13px;margin:-6px 0 12px}.scroll+.note,table+.note{margin:8px 0 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:22px 26px}
.charts img{width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6ea;white-space:nowrap}
td.wide{white-space:normal}.scroll{overflow-x:auto}th{background:#f0f2f5;font-weight:600}
td.num,th.num{text-align:right}tr.total td{font-weight:600;border-top:2px solid #cfd5dc}
details.checks{margin:0 0 20px;font-size:14px;background:#fff;border-radius:10px;padding:10px 16px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}details.checks summary{cursor:pointer}
details.checks table{margin-top:10px}
footer{color:#5a6573;font-size:12px;padding-bottom:30px;line-height:1.5}
"""


def _figure_to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    # Twice the pixels it is shown at, so that text stays sharp on high-density screens.
    # A fixed canvas (no tight bounding box): every chart is drawn at the same scale, so text
    # reads the same size in all of them; constrained layout fits labels and legends inside.
    figure.savefig(buffer, format="png", dpi=150, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _chart(draw: Any, *args: Any, **kwargs: Any) -> str:
    # A bare Figure renders without pyplot: no backend or global state is touched.
    figure = Figure(figsize=(6.6, 4.1), layout="constrained")
    draw(*args, ax=figure.subplots(), **kwargs)
    return _figure_to_data_uri(figure)


def _table(frame: pd.DataFrame, numeric: set[str] | None = None, tz: str | None = None,
           total_last: bool = False) -> str:
    """An HTML table of ``frame`` as :func:`toolkit.readable` writes it; numbers right-aligned.

    ``numeric`` names the right-aligned columns (default: those holding numbers or durations).
    """
    shown = readable(frame, tz=tz)
    right = numeric_headers(frame) if numeric is None else {header(name) for name in numeric}
    head = "".join(f'<th class="{"num" if c in right else ""}">{html.escape(str(c))}</th>'
                   for c in shown.columns)
    rows = []
    for number, record in enumerate(shown.itertuples(index=False)):
        cells = "".join(f'<td class="{"num" if column in right else ""}">{html.escape(str(value))}</td>'
                        for column, value in zip(shown.columns, record, strict=False))
        total = total_last and number == len(shown) - 1
        rows.append(f'<tr class="total">{cells}</tr>' if total else f"<tr>{cells}</tr>")
    # A narrow screen scrolls the table sideways instead of spilling it out of its card.
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>")


def _nbsp(text: str) -> str:
    """Keep a number and its unit together: ``within 1 h`` never leaves ``h`` alone on a line."""
    return re.sub(r"(\d) (h|min|days?)\b", "\\1\u00a0\\2", text)


def headline(df: pd.DataFrame, as_of: Any = None, within: str = AT_RISK_WITHIN) -> dict[str, Any]:
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


def build_report(df: pd.DataFrame, *, as_of: Any = None, within: str = AT_RISK_WITHIN,
                 title: str = "WhatsApp backlog report", source: str | None = None,
                 history: pd.DataFrame | str | os.PathLike[str] | None = None, tz: str | None = None) -> str:
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
    history : pandas.DataFrame, str or path, optional
        Snapshots (:func:`toolkit.load_snapshots`), or the folder they are saved in, as
        ``report --history`` takes it (read by :func:`toolkit.load_snapshots`, which
        raises for a folder that is not there; one without snapshots gives a section that
        says so); adds a section on how the backlog moved: unread over time, windows lost
        per day, waiting times, threads left unread.
    tz : str, optional
        IANA zone every time is shown in (``"Africa/Dar_es_Salaam"``); default the
        ``WA_TOOLKIT_TZ`` environment variable, else UTC. The report says which zone it uses.

    Returns
    -------
    str
    """
    zone = resolve_tz(tz)
    if isinstance(history, (str, os.PathLike)):
        from .history import load_snapshots

        history = load_snapshots(history)
    if history is not None:
        from .trends import HISTORY_COLUMNS

        # Checked before any work: the trends section would fail deep inside pandas.
        require_columns(history, HISTORY_COLUMNS)
    moment = resolve_as_of(df, as_of)
    local = moment.tz_convert(zone)
    short_zone = zone_label(zone, moment)
    numbers = headline(df, moment, within)
    share = numbers["unread_share"]
    horizon = _nbsp(duration_words(within))
    cards = [
        ("conversations", format_count(numbers["conversations"]), "", False),
        ("unread conversations", format_count(numbers["unread_conversations"]),
         format_share(share), False),
        ("open reply windows", format_count(numbers["open_windows"]), "", False),
        (_nbsp("windows closing within 1 h"), format_count(numbers["closing_within_1h"]), "",
         numbers["closing_within_1h"] > 0),
        (f"unread, window closes within {horizon}", format_count(numbers["at_risk"]), "",
         numbers["at_risk"] > 0),
        ("unread, window closed: template needed", format_count(numbers["needs_template"]), "",
         numbers["needs_template"] > 0),
    ]
    cards_html = "".join(
        f'<div class="card{" warn" if warn else ""}"><div class="value">{html.escape(value)}'
        + (f'<span class="share">{html.escape(extra)}</span>' if extra else "")
        + f'</div><div class="label">{html.escape(label)}</div></div>' for label, value, extra, warn in cards)
    charts = [
        _chart(plots.plot_unread_backlog, df),
        _chart(plots.plot_expiry_buckets, df, as_of=moment),
        _chart(plots.plot_expiry_timeline, df, as_of=moment, tz=zone),
        _chart(plots.plot_unread_wait, df, as_of=moment),
    ]
    charts_html = "".join(f'<img alt="chart" src="{uri}">' for uri in charts)
    risky = metrics.at_risk(df, within=within, as_of=moment)
    risk_columns = [c for c in ("provider", "contact_name", "contact_phone", "channel_id", "channel_name",
                                "unread_count", "last_message_at", "window_remaining") if c in risky.columns]
    risk_table = risky[risk_columns].head(AT_RISK_ROWS).reset_index(drop=True)
    more = (f'<p class="note">The {AT_RISK_ROWS:,} soonest of {len(risky):,}; the CSV has every '
            "conversation.</p>" if len(risky) > AT_RISK_ROWS else "")
    per_provider = metrics.unread_summary(df)
    summary = _with_total(per_provider, metrics.unread_summary(df, by=None))
    expiry = _with_total(metrics.expiry_summary(df, as_of=moment),
                         metrics.expiry_summary(df, by=None, as_of=moment))
    fetched = pd.to_datetime(df["fetched_at"], utc=True)  # naive times are UTC
    if fetched.notna().any():
        first, last = fetched.min().tz_convert(zone), fetched.max().tz_convert(zone)
        # The header's date is said once, in its words: the pull's own date only when it differs.
        day = "" if first.date() == local.date() else f"{first:%a %d %b %Y}, "
        if first.floor("s") == last.floor("s"):
            pulled = f"{day}{first:%H:%M:%S} {short_zone}"
        else:
            pulled = (f"{day}{first:%H:%M:%S} – {last:%H:%M:%S}" if first.date() == last.date()
                      else f"{first:%a %d %b %Y, %H:%M} – {last:%a %d %b %Y, %H:%M}") + f" {short_zone}"
    else:
        pulled = "no rows" if not len(df) else "unknown (the rows say no fetch time)"
    origins = sorted({str(pull.get("base_url")) for pull in _pulls(df) if pull.get("base_url")})
    where = ", ".join(origins) or "unknown"
    if source and where not in source:
        where = f"{source} ({where})"
    elif source:
        where = source
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<header><div class="wrap"><h1>{html.escape(title)}</h1>
<p>As of {local:%a %d %b %Y, %H:%M} {html.escape(short_zone)} · data pulled {html.escape(pulled)}
from {html.escape(where)}</p>
<p class="zone">Times in {html.escape(describe_tz(zone, moment))}</p></div></header>
<main class="wrap"><div class="cards">{cards_html}</div>
{_data_checks(df, history)}
<section><h2>Unread conversations whose reply window closes within {html.escape(horizon)}</h2>
<p class="note">Soonest first: answer these before the window closes, or a paid template is needed.</p>
{_table(risk_table, tz=zone) if len(risk_table) else _none_at_risk(df, moment)}{more}</section>
<section><h2>Charts</h2><div class="charts">{charts_html}</div></section>
<section><h2>Unread backlog by provider</h2>{_table(summary, tz=zone, total_last=True)}
{_counts_note(per_provider)}</section>
<section><h2>Reply windows by time left</h2>{_table(expiry, tz=zone, total_last=True)}</section>
{_trends_section(history, zone, moment) if history is not None else ""}
</main><footer class="wrap">A reply window is WhatsApp's 24 hours after the customer's last message; once it
closes, only paid, pre-approved templates can be sent. Times are in {html.escape(describe_tz(zone, moment))}
(<code>tz=</code>, <code>--tz</code> or <code>WA_TOOLKIT_TZ</code> choose the zone). Generated by wa-toolkit.
</footer></body></html>"""
    return redact(body)


def _none_at_risk(df: pd.DataFrame, moment: pd.Timestamp) -> str:
    """What to say when no unread window closes within the horizon: when the next one does."""
    return f"<p>None right now. {html.escape(next_window_words(df, moment), quote=False)}.</p>"


def _counts_note(per_provider: pd.DataFrame) -> str:
    """Under the backlog table (one row per provider): whose unread messages the total counts,
    when a provider sends no counts."""
    silent = per_provider["unread_messages"].isna() & (per_provider["conversations"] > 0)
    if not silent.any() or per_provider["unread_messages"].isna().all():
        return ""
    return (f'<p class="note">{_sends_no_counts(per_provider.index[silent])}: the unread messages '
            "of all providers add up the others only.</p>")


def _sends_no_counts(providers: Iterable[Any]) -> str:
    """``"Wassist sends no count of unread messages"``, for the providers whose rows have none."""
    names = " and ".join(PROVIDER_LABELS.get(name, str(name)) for name in dict.fromkeys(providers))
    return html.escape(f"{names} sends no count of unread messages")


def _with_total(by_provider: pd.DataFrame, everything: pd.DataFrame) -> pd.DataFrame:
    """Per-provider rows and a last row for all providers together, provider as the first column."""
    rows = by_provider.reset_index()
    rows["provider"] = rows["provider"].astype(object).map(lambda v: PROVIDER_LABELS.get(v, v))
    total = everything.reset_index(drop=True)
    total.insert(0, "provider", "All providers")
    return pd.concat([rows, total], ignore_index=True)


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


#: The span of snapshots from which the report's trend charts show a point a day (each
#: provider's latest snapshot of the day) rather than every snapshot.
TREND_DAYS_FROM = pd.Timedelta(days=2)


#: How much later than the last snapshot the report's data may be and still count as that
#: snapshot (a pull saved as one is stamped within moments of its rows' fetch).
SAME_PULL_SLACK = pd.Timedelta(minutes=1)


def _trends_section(history: pd.DataFrame, zone: str, as_of: pd.Timestamp) -> str:
    """Charts and a table of how the backlog moved across the snapshots; ``as_of`` is the
    moment of the report's own numbers."""
    from . import trends

    if history.empty:
        return "<section><h2>Trends</h2><p>No snapshots yet.</p></section>"
    moments = history["snapshot_at"]
    # Days over a history of days; over a shorter one (snapshots hours or minutes apart) every
    # snapshot, which a day would fold into one point at midnight.
    period = "D" if moments.max() - moments.min() >= TREND_DAYS_FROM else None
    charts = [
        _chart(plots.plot_unread_trend, history, by="provider", freq=period, tz=zone),
        _chart(plots.plot_unread_trend, history, by=["provider", "channel_id"], freq=period, tz=zone),
        _chart(plots.plot_closed_unread, history, by="provider", tz=zone),
        _chart(plots.plot_wait_trend, history, freq=period, tz=zone),
    ]
    stuck = trends.persistent_unread(history, min_snapshots=2)
    stuck = stuck[stuck["still_unread"]].reset_index(drop=True)
    shown = 15
    notes = []
    if len(stuck) > shown:
        notes.append(f"The {shown:,} longest runs of {len(stuck):,}.")
    stuck = stuck.head(shown)
    uncounted = stuck.loc[stuck["unread_count"].isna(), "provider"]
    if len(uncounted):
        notes.append(f"{_sends_no_counts(uncounted)}: its rows leave that column empty.")
    stuck_note = f'<p class="note">{" ".join(notes)}</p>' if notes else ""
    names = channel_names_of(history)
    table = pd.DataFrame({
        "provider": stuck["provider"],
        "contact_name": stuck["contact_name"],
        "contact_phone": stuck["contact_phone"],  # as in the at-risk table: names can be shared
        "channel_id": stuck["channel_id"],
        "channel_name": stuck["channel_id"].astype(object).map(names).astype("string"),
        "first_seen_unread": stuck["first_unread_at"],  # the first snapshot of the run, not the message
        "snapshots_unread": stuck["snapshots"],
        "unread_count": stuck["unread_count"],
    })
    simulated = bool(history.attrs.get("simulated"))
    label = " of a simulated history" if simulated else ""
    first, last = moments.min().tz_convert(zone), moments.max().tz_convert(zone)
    # Whether the last snapshot is the pull the numbers above come from (the demo's history
    # ends with it); otherwise its last points are another moment's numbers.
    ends_with_this_pull = abs(as_of - moments.max()) <= SAME_PULL_SLACK
    note = ('<p class="note"><strong>Simulated history:</strong> these snapshots come from a model of an '
            "inbox, not from past pulls" + ("; the latest one is the pull above.</p>" if ends_with_this_pull
                                            else ".</p>")) if simulated else ""
    if not ends_with_this_pull:
        # The headline numbers are a newer pull than any snapshot: say so, or the last point
        # of a trend reads as a contradiction of the cards above.
        saving = ("" if simulated else " Save a pull as a snapshot (<code>wa-toolkit snapshot</code>) to "
                                       "see it here.")
        note += (f'<p class="note">The numbers above are as of {as_of.tz_convert(zone):%d %b %Y %H:%M}; '
                 f"these trends end with the last snapshot, {last:%d %b %Y %H:%M}.{saving}</p>")
    span = f"{first:%d %b %Y}" if first.date() == last.date() else f"{first:%d %b %Y} – {last:%d %b %Y}"
    return f"""<section><h2>Trends over {moments.nunique():,} snapshots{label}
({span})</h2>{note}
<div class="charts">{"".join(f'<img alt="trend chart" src="{uri}">' for uri in charts)}</div>
<h3>Still unread across consecutive snapshots</h3>
{_table(table, tz=zone) + stuck_note if len(table) else "<p>None.</p>"}</section>"""


def _pulls(df: pd.DataFrame) -> list[dict[str, Any]]:
    if "pull" in df.attrs:
        return [df.attrs["pull"]]
    return list(df.attrs.get("pulls", {}).values())


def write_report(df: pd.DataFrame, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write :func:`build_report` to ``path`` atomically and return the path."""
    page = build_report(df, **options)
    return write_atomically(path, lambda handle: handle.write(page))
