"""The command line, the charts and the report, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import toolkit as tk  # noqa: E402
from toolkit import cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WASSIST_", "BRIQ_"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True, text=True,
                          env=environment, timeout=300, cwd=ROOT)


def test_demo_writes_csv_and_report_with_charts(tmp_path):
    result = run("demo", "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode == 0, result.stderr
    csv_path, report_path = tmp_path / "out" / "conversations.csv", tmp_path / "out" / "report.html"
    df = tk.read_csv(csv_path)
    assert set(df["provider"]) == {"wassist", "briq"}
    page = report_path.read_text()
    # Four charts of the pull, four of the simulated four-week history written beside it.
    assert page.count("data:image/png;base64,") == 8
    history = tk.load_snapshots(tmp_path / "out" / "history")
    moments = history["snapshot_at"].nunique()
    assert moments in (28, 29) and set(history["provider"]) == {"wassist", "briq"}
    assert f"Trends over {moments} snapshots of a simulated history" in page and "Simulated history:" in page
    # The history ends in the very pull the headline shows: same conversations, same channels.
    latest = history[history["snapshot_at"] == history["snapshot_at"].max()]
    key = ["provider", "conversation_id"]
    pd.testing.assert_frame_equal(latest.drop(columns="snapshot_at").sort_values(key).reset_index(drop=True),
                                  df.sort_values(key).reset_index(drop=True), check_like=True)
    point = tk.unread_trend(history, by=None, freq="D").iloc[-1]
    assert (point["conversations"], point["unread_conversations"]) == (len(df), int(df["has_unread"].sum()))
    # The table of threads still unread shows 15 and says of how many.
    stuck = tk.persistent_unread(history, min_snapshots=2)
    still = int(stuck["still_unread"].sum())
    assert still > 15 and f"The 15 longest runs of {still:,}." in page
    # Each shown with its phone: contacts of one name are told apart.
    section = page.split("Still unread across consecutive snapshots", 1)[1]
    shown = stuck[stuck["still_unread"]].head(15)
    assert all(phone in section for phone in shown["contact_phone"])
    waits = tk.wait_trend(history, by=None, freq="D").iloc[-1]
    assert waits["p50"] == pytest.approx(tk.wait_percentiles(df, by=None).iloc[0]["p50"])
    assert "Data checks: all 8 passed on this pull and the history." in page
    assert f"{len(df):,}" in page and f"{len(df):,} conversations" in result.stdout
    assert "<script" not in page and "http://" not in page.replace("http://127.0.0.1", "")


def test_report_numbers_are_the_metrics(sandbox):
    df = tk.load_conversations({"briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url,
                                         "progress": False}})
    page = tk.build_report(df)
    risky = tk.at_risk(df, within="2h")
    assert f'<div class="value">{len(risky):,}</div>' in page
    unread = int(df["has_unread"].sum())
    share = 100 * unread / len(df)  # written as the tables write it: one decimal
    assert f'<div class="value">{unread:,}<span class="share">{share:.1f}%</span></div>' in page
    for phone in risky["contact_phone"].head(5):
        assert phone in page


def test_report_escapes_names(sandbox):
    df = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=False)
    df.loc[:, "contact_name"] = "<script>alert(1)</script>"
    df["has_unread"] = True
    page = tk.build_report(df, within="24h")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("command", ["demo", "export", "report", "sandbox", "snapshot", "sample-history"])
def test_every_command_explains_itself(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "usage: wa-toolkit " + command in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_missing_keys_are_one_line_errors_with_a_failure_exit(tmp_path):
    result = run("export", "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 1
    assert result.stderr.startswith("wa-toolkit: error: no API key")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_refused_key_is_a_one_line_error_without_the_key(sandbox, tmp_path):
    secret = "sk-canary-cli-000111222333"
    result = run("export", "--provider", "briq", "--out", str(tmp_path / "x.csv"), "--no-progress",
                 env={"BRIQ_API_KEY": secret, "BRIQ_BASE_URL": sandbox.base_url})
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr and "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout
    assert not (tmp_path / "x.csv").exists()


def test_bad_argument_is_a_usage_error(sandbox, tmp_path):
    result = run("export", "--provider", "briq", "--search", "x" * 70, "--out", str(tmp_path / "x.csv"),
                 env={"BRIQ_API_KEY": "k" * 10, "BRIQ_BASE_URL": sandbox.base_url})
    assert result.returncode == 2 and "search" in result.stderr
    assert sandbox.list_requests() == []


def test_export_and_report_pull_live_apis(sandbox, tmp_path):
    env = sandbox.environment()
    result = run("export", "--provider", "briq", "--briq-status", "unread", "--out", str(tmp_path / "u.csv"),
                 env=env)
    assert result.returncode == 0, result.stderr
    exported = tk.read_csv(tmp_path / "u.csv")
    assert (exported["unread_count"] > 0).all() and len(exported) > 0
    result = run("report", "--out", str(tmp_path / "r"), env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r" / "report.html").exists()
    assert set(tk.read_csv(tmp_path / "r" / "conversations.csv")["provider"]) == {"wassist", "briq"}


def test_sample_data_reads_back_in_the_schema():
    df = tk.read_csv(ROOT / "data" / "sample_conversations.csv")
    assert list(df.columns) == [*tk.SCHEMA, "channel_name"] and len(df) == 2700


@pytest.mark.parametrize("draw", ["plot_unread_backlog", "plot_expiry_buckets", "plot_expiry_timeline",
                                  "plot_unread_wait", "plot_at_risk"])
def test_charts_draw_on_a_given_axes_and_label_it(draw, sandbox):
    import matplotlib.pyplot as plt

    df = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=False)
    for frame in (df, tk.empty_frame()):
        figure, ax = plt.subplots()
        returned = getattr(tk, draw)(frame, ax=ax)
        assert returned is ax
        assert ax.get_title() and ax.get_xlabel()
        plt.close(figure)


def test_bar_lengths_are_the_numbers(sandbox):
    import matplotlib.pyplot as plt

    df = tk.load_briq(sandbox.config.briq_key, sandbox.base_url, progress=False)
    figure, ax = plt.subplots()
    tk.plot_expiry_timeline(df, ax=ax)
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == tk.expiry_timeline(df).tolist()
    plt.close(figure)


def test_python_dash_m_and_console_script_agree():
    assert cli.build_parser().prog == "wa-toolkit"
    result = run("--help")
    assert result.returncode == 0 and "demo" in result.stdout


def test_snapshot_command_saves_a_live_pull_and_report_shows_its_trends(sandbox, tmp_path):
    env = sandbox.environment()
    root = tmp_path / "history"
    first = run("snapshot", "--root", str(root), "--no-progress", env=env)
    assert first.returncode == 0, first.stderr
    second = run("snapshot", "--root", str(root), "--provider", "briq", "--no-progress", env=env)
    assert second.returncode == 0, second.stderr
    history = tk.load_snapshots(root)
    assert history["snapshot_at"].nunique() == 2
    counts = history.groupby("provider", observed=True)["snapshot_at"].nunique()
    assert counts.to_dict() == {"wassist": 1, "briq": 2}
    assert len(history[history["provider"] == "wassist"]) == sandbox.config.wassist_conversations
    result = run("report", "--out", str(tmp_path / "r"), "--history", str(root), "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    assert "Trends over 2 snapshots" in (tmp_path / "r" / "report.html").read_text()


def test_snapshot_without_keys_fails_cleanly_and_writes_nothing(tmp_path):
    result = run("snapshot", "--root", str(tmp_path / "h"))
    assert result.returncode == 1 and "no API key" in result.stderr
    assert not (tmp_path / "h").exists()


def test_sample_history_writes_days_of_snapshots(tmp_path):
    result = run("sample-history", "--root", str(tmp_path / "h"), "--days", "3")
    assert result.returncode == 0, result.stderr
    assert tk.load_snapshots(tmp_path / "h")["snapshot_at"].nunique() == 3
    assert run("sample-history", "--root", str(tmp_path / "h"), "--days", "0").returncode == 2


def test_sample_history_is_the_demos_inbox_with_its_senders_named(tmp_path):
    # The inbox the sandbox and the demo serve (their channels, their size), so that trends drawn
    # from it show the channels today's numbers show, under the names data/ gives Briq's senders.
    assert run("sample-history", "--root", str(tmp_path / "h"), "--days", "1").returncode == 0
    history = tk.load_snapshots(tmp_path / "h")
    briq, wassist = history[history["provider"] == "briq"], history[history["provider"] == "wassist"]
    names = tk.read_channel_names(ROOT / "data" / "briq_channel_names.csv")
    assert set(briq["channel_id"]) == set(names)
    assert (briq["channel_name"] == briq["channel_id"].map(names)).all()
    assert wassist["channel_id"].nunique() == len(names)  # as many agents as senders: four each
    assert len(wassist) >= 800 and len(briq) >= 1000  # the demo's inbox starts with 800 and 1,000 threads


def test_sample_history_written_again_replaces_the_earlier_and_leaves_live_snapshots_alone(tmp_path, sandbox):
    root = tmp_path / "h"
    assert run("sample-history", "--root", str(root), "--days", "2").returncode == 0
    once = tk.load_snapshots(root)
    again = run("sample-history", "--root", str(root), "--days", "2")
    assert again.returncode == 0, again.stderr
    assert "replacing" in again.stdout
    twice = tk.load_snapshots(root)
    # A shorter history over a longer one leaves no empty day folders behind.
    assert run("sample-history", "--root", str(root), "--days", "1").returncode == 0
    assert all(any(folder.iterdir()) for folder in root.glob("provider=*/date=*"))
    assert len(list(root.glob("provider=*/date=*"))) == 2
    assert run("sample-history", "--root", str(root), "--days", "2").returncode == 0
    # Each day holds each conversation once, as after one run: the trends count what they did.
    assert len(twice) == len(once)
    assert not twice.duplicated(["snapshot_at", "provider", "conversation_id"]).any()
    pd.testing.assert_frame_equal(tk.unread_trend(twice), tk.unread_trend(once))
    # A folder of live snapshots is not the simulation's to write into.
    live = tmp_path / "live"
    pulled = tk.load_conversations({"briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url,
                                             "progress": False}})
    tk.save_snapshot(pulled, live)
    refused = run("sample-history", "--root", str(live), "--days", "2")
    assert refused.returncode == 2 and "holds snapshots of live pulls" in refused.stderr
    assert len(tk.load_snapshots(live)) == len(pulled)


def test_trends_refuse_a_history_that_holds_a_snapshot_twice(tmp_path):
    root = tmp_path / "h"
    assert run("sample-history", "--root", str(root), "--days", "2").returncode == 0
    once = tk.load_snapshots(root)
    latest = once[once["snapshot_at"] == once["snapshot_at"].max()].drop(columns="snapshot_at")
    tk.save_snapshot(latest, root, snapshot_at=once["snapshot_at"].max())  # a second file for that moment
    doubled = tk.load_snapshots(root)
    for trend in (tk.unread_trend, tk.wait_trend):
        with pytest.raises(ValueError, match=r"holds (wassist|briq)'s snapshot of .* more than once"):
            trend(doubled)
    with pytest.raises(ValueError, match="more than once"):
        tk.build_report(latest, history=doubled)


def test_sandbox_request_budget_is_read_as_requests_per_seconds():
    assert cli._request_budget("100/60") == (100, 60.0)
    for bad in ("100", "a/b", "0/60", "10/0"):
        with pytest.raises(Exception, match="REQUESTS/SECONDS|positive"):
            cli._request_budget(bad)
    assert run("sandbox", "--rate-limit", "lots").returncode == 2


@pytest.mark.parametrize("raw", [False, True])
def test_the_sandbox_command_serves_an_inbox_a_team_could_have(raw):
    """By default an inbox after a few simulated days (a few percent unread, as in the demo);
    --raw, the seeded conversations as generated, a third of them unread."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WASSIST_", "BRIQ_"))}
    command = [sys.executable, "-m", "toolkit", "sandbox", "--port", "0", "--wassist-conversations", "300",
               "--briq-conversations", "300", *(["--raw"] if raw else [])]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment, cwd=ROOT)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()  # "sandbox serving Wassist and Briq at http://... (Ctrl-C to stop)"
        base_url = first.split(" at ", 1)[1].split()[0]
        keys = {"wassist": "sandbox-wassist-key", "briq": "sandbox-briq-key"}
        df = tk.load_conversations({name: {"api_key": key, "base_url": base_url, "progress": False}
                                    for name, key in keys.items()})
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The hint it prints names the file that names its Briq senders: every one of them.
    said = server.stdout.read()
    named = ROOT / "data" / "briq_channel_names.csv"
    assert f"--channel-names {named.resolve()} " in said  # a path that works from any folder
    names = tk.read_channel_names(named)
    assert set(df.loc[df["provider"] == "briq", "channel_id"]) <= set(names)
    unread = df.groupby("provider", observed=True)["has_unread"].mean()
    if raw:
        assert (unread > 0.25).all()
    else:
        assert (unread < 0.15).all() and len(df) >= 600


def test_the_demo_leaves_live_snapshots_in_its_history_folder_alone(tmp_path, sandbox, capsys):
    from toolkit import cli

    live = tmp_path / "out" / "history"
    live.parent.mkdir()
    pulled = tk.load_conversations({"briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url,
                                             "progress": False}})
    tk.save_snapshot(pulled, live)
    assert cli.main(["demo", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert "holds snapshots of live pulls" in capsys.readouterr().err
    assert len(tk.load_snapshots(live)) == len(pulled) and not (tmp_path / "out" / "report.html").exists()
