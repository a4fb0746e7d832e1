"""`wa-toolkit snapshot --incremental` and `wa-toolkit watch`, against the sandbox."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pandas as pd
import pytest

import toolkit as tk
from toolkit import _clock
from toolkit.cli import main
from toolkit.watch import Watch, budget_pause

from .test_refresh import VISIBLE_CHURN, assert_same, pull_both


def watched_briq(sandbox) -> dict:
    """A watch's options for the sandbox's Briq: no budget (the sandbox keeps none), no bars."""
    return {"briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url,
                     "rate_limit": None, "progress": False}}


@pytest.fixture
def sandbox_env(make_sandbox, monkeypatch):
    sandbox = make_sandbox(seed=21)
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    return sandbox


def test_incremental_snapshots_equal_full_pulls(sandbox_env, tmp_path, capsys):
    """Clocks stopped for each run, one whole second apart (Wassist counts whole seconds)."""
    sandbox = sandbox_env
    command = ["snapshot", "--root", str(tmp_path), "--incremental", "--no-progress"]
    first_moment = sandbox.freeze()
    try:
        with _clock.frozen(first_moment):
            assert main(command) == 0
        first = capsys.readouterr().out
        sandbox.churn(30, VISIBLE_CHURN)
        second_moment = sandbox.freeze(first_moment + timedelta(seconds=1))
        with _clock.frozen(second_moment):
            assert main(command) == 0
            second = capsys.readouterr().out
            after = pull_both(sandbox)
    finally:
        sandbox.thaw()
    assert "wassist: full pull (no snapshot of it yet)" in first and "briq: full pull" in first
    assert "wassist: refreshed" in second and "briq: refreshed" in second
    history = tk.load_snapshots(tmp_path)
    assert history["snapshot_at"].nunique() == 2 and len(tk.snapshot_files(tmp_path)) == 4
    latest = history[history["snapshot_at"] == history["snapshot_at"].max()].drop(columns="snapshot_at")
    assert_same(latest, after)


def test_incremental_snapshot_with_other_filters_pulls_in_full(sandbox_env, tmp_path, capsys):
    assert main(["snapshot", "--root", str(tmp_path), "--provider", "briq", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["snapshot", "--root", str(tmp_path), "--provider", "briq", "--briq-status", "unread",
                 "--incremental", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "full pull (its latest snapshot was taken with status=all, this one with status=unread: " \
           "the folder's trends will mix the two)" in printed
    assert main(["snapshot", "--root", str(tmp_path), "--provider", "briq", "--briq-status", "unread",
                 "--incremental", "--no-progress"]) == 0
    assert "briq: refreshed" in capsys.readouterr().out


def test_watch_the_sandbox_for_a_few_rounds(tmp_path, capsys):
    report = tmp_path / "watch.html"
    assert main(["watch", "--sandbox", "--every", "0s", "--rounds", "2", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "round 1: full pull" in out and "round 2: refresh" in out
    assert out.count("At risk:") == 2
    assert out.count(f"wrote {report}") == 2  # a log of the screens shows the report kept current
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "<title>WhatsApp backlog (live watch of a simulated inbox)</title>" in page  # not a real one
    assert not list(tmp_path.glob(".watch.html*"))  # rewritten atomically: no leftovers


def test_a_snapshot_filtered_before_it_was_saved_is_followed_by_a_full_pull(sandbox_env, tmp_path, capsys):
    """A cron's incremental snapshot keeps working after someone saved a filtered frame."""
    command = ["snapshot", "--root", str(tmp_path), "--incremental", "--no-progress"]
    assert main(command) == 0  # the cron's history so far
    capsys.readouterr()
    pulled = tk.load_conversations({"wassist": {"progress": False}, "briq": {"progress": False}})
    unread = pulled[pulled["has_unread"].fillna(False).astype(bool)]
    tk.save_snapshot(unread, tmp_path)
    assert main(command) == 0
    printed = capsys.readouterr().out
    for name in ("wassist", "briq"):
        held = int((unread["provider"] == name).sum())
        returned = int((pulled["provider"] == name).sum())
        assert held < returned
        assert (f"{name}: full pull (its latest snapshot holds {held:,} rows where its pull returned "
                f"{returned:,}: it was filtered before it was saved)") in printed
    history = tk.load_snapshots(tmp_path)
    latest = history[history["snapshot_at"] == history["snapshot_at"].max()]
    assert len(latest) == len(pulled)  # whole again
    assert main(command) == 0  # and refreshed from then on
    assert "wassist: refreshed" in capsys.readouterr().out


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def watched_inbox():
    from toolkit.demo import simulated_sandbox

    return simulated_sandbox(wassist_conversations=400, briq_conversations=500)


def test_the_sandbox_watch_moves_half_a_percent_of_its_inbox_a_minute(watched_inbox):
    """As the README says: 0.5% a minute, whether rounds are five minutes apart or back to back."""
    from toolkit.demo import SandboxTraffic

    clock = FakeClock()
    traffic = SandboxTraffic(watched_inbox, clock)
    inbox = traffic.conversations
    clock.now += 300
    assert traffic() == int(inbox * 0.005 * 5)
    # Rounds back to back: nothing in a fifth of a second, and a minute's share over a minute.
    moved = 0
    for _ in range(300):
        clock.now += 0.2
        moved += traffic()
    assert abs(moved - inbox * 0.005) <= 1


def test_the_sandbox_watch_backlog_moves_both_ways_without_climbing(watched_inbox):
    from toolkit.demo import SandboxTraffic

    clock = FakeClock()
    traffic = SandboxTraffic(watched_inbox, clock)
    counts = []
    for _ in range(100):  # more than eight hours of five-minute rounds
        clock.now += 300
        traffic()
        counts.append(watched_inbox.unread_conversations())
    steps = [later - earlier for earlier, later in zip(counts[:-1], counts[1:], strict=True)]
    assert any(step > 0 for step in steps) and any(step < 0 for step in steps)
    # Customers make some 18 threads unread a round here: near 900 over the watch were nobody
    # to answer; half of the growth answered each round holds it near one round's worth.
    assert max(counts) - traffic.baseline <= 40, counts


def test_a_back_to_back_sandbox_watch_adds_no_burst_of_traffic(monkeypatch, capsys):
    from toolkit.sandbox import Sandbox

    moved: list[int] = []
    churn = Sandbox.churn

    def counted(self, events, kinds=None):
        moved.append(events)
        return churn(self, events, kinds)

    monkeypatch.setattr(Sandbox, "churn", counted)
    started = time.monotonic()
    assert main(["watch", "--sandbox", "--every", "0s", "--rounds", "3"]) == 0
    minutes = (time.monotonic() - started) / 60
    capsys.readouterr()
    # The traffic of the time the rounds took (0.5% of some 2,100 conversations a minute), not a
    # burst of a round's worth each.
    assert sum(moved) <= 2_500 * 0.005 * minutes + 1, (moved, minutes)


def test_channel_names_reach_incremental_snapshots_and_the_watch(sandbox_env, tmp_path, capsys):
    """--channel-names names every Briq row: carried ones, fetched ones, and the watch's."""
    senders = sorted(tk.load_briq(progress=False)["channel_id"].dropna().unique())
    names_file = tmp_path / "names.csv"
    names_file.write_text("channel_id,channel_name\n" + "".join(f"{sender},Desk {number}\n"
                                                           for number, sender in enumerate(senders)))
    names = {sender: f"Desk {number}" for number, sender in enumerate(senders)}
    root = tmp_path / "history"
    command = ["snapshot", "--root", str(root), "--provider", "briq", "--incremental", "--no-progress",
               "--channel-names", str(names_file)]
    assert main(command) == 0
    sandbox_env.churn(30, VISIBLE_CHURN)
    assert main(command) == 0
    assert "briq: refreshed" in capsys.readouterr().out
    history = tk.load_snapshots(root)
    for _, snapshot in history.groupby("snapshot_at"):
        assert snapshot["channel_name"].astype(object).tolist() == \
            snapshot["channel_id"].astype(object).map(names).tolist()

    options = watched_briq(sandbox_env)
    watch = Watch(options, pd.Timedelta(0), rounds=2, out=io.StringIO(), channel_names=names,
                  before_round=lambda: sandbox_env.churn(30, VISIBLE_CHURN))
    assert watch.run() == 0
    assert watch.frame is not None and watch.frame.attrs["refresh"]["briq"]["rows_fetched"] > 0
    assert watch.frame["channel_name"].astype(object).tolist() == \
        watch.frame["channel_id"].astype(object).map(names).tolist()
    # The flag reaches the watch from the command line.
    assert main(["watch", "--sandbox", "--provider", "briq", "--every", "0s", "--rounds", "1",
                 "--channel-names", str(names_file)]) == 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    """The watch's clock in a test: seconds that pass only by its sleeps (and a slow redraw),
    so that a countdown's ticks do not depend on how busy the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def test_the_countdown_shows_every_second_even_when_a_redraw_is_slow(sandbox_env, monkeypatch):
    import toolkit.watch as watch_module

    clock = _Clock()
    monkeypatch.setattr(watch_module, "time", clock)
    drawn = watch_module.render

    def slow_render(*args, **kwargs):
        clock.sleep(0.3)  # a large inbox's screen takes a while to draw
        return drawn(*args, **kwargs)

    monkeypatch.setattr(watch_module, "render", slow_render)
    options = watched_briq(sandbox_env)
    terminal = _Terminal()
    assert Watch(options, pd.Timedelta(seconds=4), rounds=2, out=terminal).run() == 0
    shown = [line.split("next in ")[1] for line in terminal.getvalue().splitlines() if "next in " in line]
    assert shown == ["0:00:04", "0:00:03", "0:00:02", "0:00:01"]


def test_a_pause_of_a_fraction_of_a_second_more_counts_down_each_second_once(sandbox_env, monkeypatch):
    import toolkit.watch as watch_module

    monkeypatch.setattr(watch_module, "time", _Clock())
    options = watched_briq(sandbox_env)
    terminal = _Terminal()
    assert Watch(options, pd.Timedelta(seconds=2.5), rounds=2, out=terminal).run() == 0
    shown = [line.split("next in ")[1] for line in terminal.getvalue().splitlines() if "next in " in line]
    assert shown == ["0:00:03", "0:00:02", "0:00:01"]


@pytest.mark.parametrize("every", [pd.NaT, pd.Timedelta(seconds=-1), 5, "soon"])
def test_a_watch_needs_a_pause_of_zero_or_more(every):
    with pytest.raises(ValueError, match="every must be a duration of zero or more"):
        Watch({"briq": {}}, every)


def test_a_watch_of_the_servers_the_keys_point_at_names_them(sandbox_env, tmp_path, capsys):
    report = tmp_path / "live.html"
    assert main(["watch", "--every", "0s", "--rounds", "1", "--report", str(report)]) == 0
    assert f"wa-toolkit watch · live {sandbox_env.base_url} · round 1" in capsys.readouterr().out
    assert f"from live {sandbox_env.base_url}" in report.read_text(encoding="utf-8")


def test_watch_shows_local_time_and_a_lived_in_sandbox(capsys):
    assert main(["watch", "--sandbox", "--every", "0s", "--rounds", "1", "--tz", "Africa/Dar_es_Salaam"]) == 0
    out = capsys.readouterr().out
    assert "round 1: full pull at " in out and " EAT, requests" in out
    # The sandbox serves an inbox after simulated days of work: a few percent unread, as a
    # team's inbox has, not the raw seeded data's third.
    unread_share = float(out.split(" unread (")[1].split("%")[0])
    assert 0 < unread_share < 20


@pytest.mark.parametrize("argv", [
    ["watch", "--sandbox", "--every", "soon"],
    ["watch", "--sandbox", "--every", "-5m"],
    ["watch", "--sandbox", "--rounds", "0"],
    ["watch", "--sandbox", "--report", "watch.csv"],
])
def test_watch_refuses_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        exit_code = main(argv)
        raise SystemExit(exit_code)
    assert stopped.value.code == 2
    assert "error" in capsys.readouterr().err


def test_watch_stops_cleanly_on_ctrl_c(tmp_path):
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "toolkit", "watch", "--sandbox", "--every", "1h"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env=environment)
    try:
        deadline = time.monotonic() + 120
        seen = ""
        while "At risk:" not in seen:
            assert time.monotonic() < deadline, "the first round never showed"
            line = process.stdout.readline()
            assert line or process.poll() is None, process.stderr.read()
            seen += line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # Every command's Ctrl-C: exit code 130 and one line, never a traceback.
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err


def test_the_budget_pause_keeps_watch_within_half_of_wassists_budget():
    # Wassist documents 100 requests a minute; half of it is 50 a minute.
    assert budget_pause({"wassist": 50}) == pd.Timedelta(minutes=1)
    assert budget_pause({"wassist": 10, "briq": 500}) == pd.Timedelta(seconds=12)  # Briq documents none
    assert budget_pause({}) == pd.Timedelta(0)


def both_pulled(sandbox) -> pd.DataFrame:
    """Both providers of ``sandbox`` pulled, as a watch's first round pulls them."""
    return tk.load_conversations({
        "wassist": {"api_key": sandbox.config.wassist_key, "base_url": sandbox.base_url, "rate_limit": None,
                    "progress": False},
        "briq": {"api_key": sandbox.config.briq_key, "base_url": sandbox.base_url, "progress": False}})


def test_the_watch_names_a_channel_where_it_can_and_shows_a_short_id_elsewhere(sandbox):
    from toolkit.watch import render

    df = both_pulled(sandbox)
    now = df["fetched_at"].max()
    risky = tk.at_risk(df, within="24h", as_of=now)
    assert set(risky["provider"]) == {"wassist", "briq"}  # named Wassist agents, unnamed Briq senders
    screen = render(df, now=now, within="24h", status="", rows=len(risky))
    for _, row in risky.iterrows():
        shown = row["channel_name"] if pd.notna(row["channel_name"]) else row["channel_id"][:8] + "\u2026"
        assert shown[:20] in screen


def test_a_watch_with_nothing_at_risk_says_when_the_next_window_closes(sandbox):
    from toolkit.watch import render

    df = both_pulled(sandbox)
    now = df["fetched_at"].max()
    later = tk.at_risk(df, within="24h", as_of=now)["window_remaining"]
    assert len(later) > 1
    # A horizon shorter than the soonest window: nothing at risk, and the screen says when the
    # next one closes (as a clock would read it: minutes, rounded) and how many close in a day.
    within = f"{max(1, int(later.min().total_seconds() // 2))}s"
    screen = render(df, now=now, within=within, status="")
    assert "At risk: 0 unread conversations" in screen
    soonest = int(round(later.min() / pd.Timedelta(minutes=1)))
    hours, minutes = divmod(soonest, 60)
    expected = f"{minutes} min" if hours == 0 else f"{hours:,} h {minutes:02d} min"
    assert (f"The next unread conversation's window closes in {expected}; "
            f"{len(later):,} close within 24 h") in screen
    # One window: the verb agrees.
    soonest_only = df.loc[[later.index[0]]]
    screen = render(soonest_only, now=now, within=within, status="")
    assert "; 1 closes within 24 h" in screen
    # Nothing open within a day: said so, not left blank.
    quiet = df.assign(window_open=False)
    screen = render(quiet, now=now, within="2h", status="")
    assert "No unread conversation's window closes within 24 h" in screen
