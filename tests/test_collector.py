"""The cyclic garbage collector pauses while a pull reads pages, and comes back as it was."""

from __future__ import annotations

import gc
import threading

import pytest

import toolkit as tk

from .helpers import briq, wassist


@pytest.fixture
def collector_running():
    was = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was else gc.disable()


def test_the_collector_is_paused_during_a_pull_and_running_after_it(make_sandbox, collector_running):
    sandbox = make_sandbox(briq_conversations=600, latency=0.05)
    seen: list[bool] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(gc.isenabled())
            done.wait(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        frame = briq(sandbox, page_size=50, max_workers=2)
    finally:
        done.set()
        watcher.join()
    assert len(frame) == 600
    assert False in seen
    assert gc.isenabled()


def test_a_collector_the_caller_stopped_stays_stopped(sandbox, collector_running):
    gc.disable()
    briq(sandbox)
    assert not gc.isenabled()


def test_a_failed_pull_and_concurrent_pulls_restart_the_collector(make_sandbox, collector_running):
    sandbox = make_sandbox(briq_conversations=400, latency=0.02)
    with pytest.raises(tk.AuthenticationError):
        tk.load_briq("a-wrong-key", sandbox.base_url, progress=False)
    assert gc.isenabled()
    frames: list[int] = []
    pulls = [threading.Thread(target=lambda: frames.append(len(briq(sandbox, page_size=50))))
             for _ in range(3)]
    for pull in pulls:
        pull.start()
    for pull in pulls:
        pull.join()
    assert frames == [400, 400, 400]
    assert gc.isenabled()


@pytest.mark.parametrize("load", [briq, wassist])
def test_a_pull_leaves_no_garbage_cycles_behind(make_sandbox, collector_running, load):
    # What makes the pause safe: reference counting frees everything a pull makes.
    sandbox = make_sandbox(briq_conversations=3000, wassist_conversations=3000)
    load(sandbox)
    gc.collect()
    gc.disable()
    frame = load(sandbox)
    unreachable = gc.collect()
    assert len(frame) == 3000
    assert unreachable <= 10
