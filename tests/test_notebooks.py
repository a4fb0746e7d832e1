"""The notebooks run top to bottom on the sandbox, and the numbers they show are the metrics'."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import toolkit as tk

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SMALL = 'sandbox_size = {"wassist_conversations": 150, "briq_conversations": 180}'


def execute(name: str, tmp_path: Path, shown: list[str], parameters_text: str = f"{SMALL}\nsandbox_seed = 11",
            frame: str = "df") -> dict:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    parameters = [cell for cell in book.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1, "each notebook has exactly one parameters cell"
    injected = nbformat.v4.new_code_cell(parameters_text)
    book.cells.insert(book.cells.index(parameters[0]) + 1, injected)
    results = tmp_path / "results.pkl"
    book.cells.append(nbformat.v4.new_code_cell(
        f"pd.to_pickle({{name: globals()[name] for name in {shown!r} + [{frame!r}]}}, {str(results)!r})"))
    NotebookClient(book, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    widgets = 0
    for cell in book.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output
            # A person sees no pink block: no warnings, no text progress bars, nothing on stderr.
            stderr = output["output_type"] == "stream" and output["name"] == "stderr"
            assert not stderr, output["text"][:500]
            data = output.get("data", {})
            # A progress bar's widget, emptied once its pull ended: a viewer without widgets (an
            # HTML export, GitHub) shows nothing there rather than the bar's first text.
            assert WIDGET not in data, data.get("text/plain")
            if output["output_type"] == "display_data" and data == {"text/plain": ""}:
                widgets += 1
                continue
            text = output.get("text", "") + str(data.get("text/plain", ""))
            assert "Warning" not in text and "page/s" not in text, text[:500]
    loaded = pd.read_pickle(results)
    loaded["progress widgets"] = widgets
    return loaded


WIDGET = "application/vnd.jupyter.widget-view+json"


def test_notebooks_are_stored_without_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


def test_notebooks_import_only_the_public_api():
    for path in NOTEBOOKS.glob("*.ipynb"):
        text = path.read_text()
        assert "toolkit._" not in text and "from toolkit.providers" not in text, path.name


def test_overview_notebook(tmp_path, monkeypatch):
    for name in ("WASSIST_API_KEY", "BRIQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    results = execute("overview.ipynb", tmp_path, ["headline"])
    df, headline = results["df"], results["headline"]
    assert results["progress widgets"] > 0, "pulls in a notebook show progress as widgets, emptied after"
    # The 330 threads the simulation starts with, and those its three days of customers opened.
    assert len(df) >= 330
    # A team's inbox, as the README says the sandbox serves: not the raw seeded data's third unread.
    assert df["has_unread"].astype(bool).mean() < 0.15
    assert headline["conversations"] == len(df)
    # Briq sends sender ids only: the notebook names the sandbox's senders, as the demo does.
    briq = df[df["provider"] == "briq"]
    assert len(briq) and briq["channel_name"].notna().all()
    assert headline["unread conversations"] == int(df["has_unread"].sum())
    buckets = tk.window_bucket(df)
    assert headline["open reply windows"] == int(buckets.isin(["<1h", "1-4h", "4-12h", "12-24h"]).sum())
    assert headline["closing within 1 h"] == int((buckets == "<1h").sum())
    assert headline["unread, closing within 2h"] == len(tk.at_risk(df, within="2h"))


def test_unread_backlog_notebook(tmp_path):
    results = execute("unread_backlog.ipynb", tmp_path, ["by_provider", "waits"])
    df = results["df"]
    pd.testing.assert_frame_equal(results["by_provider"], tk.unread_summary(df))
    briq = df[df["provider"] == "briq"]
    assert results["by_provider"].loc["briq", "unread_messages"] == briq["unread_count"].sum()
    hours = ((df["fetched_at"].max() - df.loc[df["has_unread"].fillna(False).astype(bool), "last_message_at"])
             / pd.Timedelta(hours=1))
    wassist_hours = hours[df["provider"] == "wassist"].dropna()
    assert results["waits"].loc["wassist", "p50"] == pytest.approx(wassist_hours.clip(lower=0).median())


def test_window_expiry_notebook(tmp_path):
    results = execute("window_expiry.ipynb", tmp_path, ["buckets", "timeline", "risky", "needs_template"])
    df = results["df"]
    pd.testing.assert_frame_equal(results["buckets"], tk.expiry_summary(df))
    pd.testing.assert_series_equal(results["timeline"], tk.expiry_timeline(df))
    newest = df["fetched_at"].max()
    assert results["timeline"].sum() == int((df["window_open"].fillna(False).astype(bool)
                                            & (df["window_expires_at"] >= newest)
                                            & (df["window_expires_at"] < newest + pd.Timedelta("24h"))).sum())
    assert len(results["risky"]) == len(tk.at_risk(df, within="2h"))
    assert len(results["needs_template"]) == len(tk.closed_with_unread(df))


def test_trends_notebook(tmp_path):
    results = execute("trends.ipynb", tmp_path,
                      ["backlog", "lost", "waits", "stuck", "daily_sql", "slipping"],
                      parameters_text="days = 16\nseed = 3", frame="history")
    history = results["history"]
    assert history["snapshot_at"].nunique() >= 15
    assert history.attrs["simulated"] is True  # and the notebook says so
    # The sandbox's inbox, its channels named: four a provider, as the other notebooks show.
    assert history.groupby("provider")["channel_id"].nunique().to_dict() == {"briq": 4, "wassist": 4}
    assert history["channel_name"].notna().all()
    pd.testing.assert_frame_equal(results["backlog"], tk.unread_trend(history, by="provider", freq="D"))
    pd.testing.assert_frame_equal(results["lost"], tk.closed_unread_by_day(history, by="provider"))
    pd.testing.assert_frame_equal(results["waits"], tk.wait_trend(history, by="provider", freq="D"))
    pd.testing.assert_frame_equal(results["stuck"], tk.persistent_unread(history, min_snapshots=3))
    # The SQL answer is the same count, made by DuckDB from the files.
    daily = history.assign(date=history["snapshot_at"].dt.strftime("%Y-%m-%d"))
    for row in results["daily_sql"].itertuples(index=False):
        rows = daily[(daily["date"] == pd.Timestamp(row.date).strftime("%Y-%m-%d"))
                     & (daily["provider"] == row.provider)]
        assert row.unread == int(rows["has_unread"].sum())
    # The simulated history slips on one channel per provider: they lead the table.
    assert (results["slipping"]["change"].iloc[:2] > 0).all()
