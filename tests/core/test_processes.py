"""What /proc says about a process, with real processes: alive or gone, the same process or a
later one with its pid, stopped, its children's CPU time, killed with its children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from osmose_dagster.core.ops.processes import (
    StallWatch,
    descendants,
    kill_tree,
    process_facts,
    same_process,
)

BUSY_CHILD = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'while True: pass'])"


def _wait(condition, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_live_process_is_the_same_one_until_it_is_gone():
    process = subprocess.Popen(["sleep", "60"])
    recorded_at = time.time()
    try:
        facts = process_facts(process.pid)
        assert facts is not None and same_process(facts, recorded_at)
        # A process started after the run's record is another process given the same pid.
        assert not same_process(facts, recorded_at - 3600)
        os.kill(process.pid, signal.SIGSTOP)
        assert _wait(lambda: process_facts(process.pid).state == "T")
        assert process_facts(process.pid).describe_state() == "stopped"
    finally:
        process.kill()
        process.wait()
    assert process_facts(process.pid) is None


def test_cpu_time_counts_the_children_and_kill_tree_ends_them_all():
    parent = subprocess.Popen([sys.executable, "-c", BUSY_CHILD])
    try:
        assert _wait(lambda: descendants(parent.pid))
        (child,) = descendants(parent.pid)
        assert _wait(lambda: process_facts(parent.pid).cpu_seconds >= 0.3)  # the child's loop
        assert process_facts(child).cpu_seconds <= process_facts(parent.pid).cpu_seconds
    finally:
        kill_tree(parent.pid)
    assert parent.wait(10) == -signal.SIGKILL
    assert _wait(lambda: process_facts(child) is None or process_facts(child).exited)


def test_a_zombie_is_an_exited_process_and_no_pid_is_not_a_process():
    process = subprocess.Popen(["true"])  # not reaped until wait(): a zombie meanwhile
    try:
        assert _wait(lambda: process_facts(process.pid).exited)
        assert process_facts(process.pid).describe_state() == "a zombie (exited, not yet reaped)"
        assert not same_process(process_facts(process.pid), time.time())
    finally:
        process.wait()
    for pid in (0, -1):  # os.kill(-1, SIGKILL) would signal every process we may signal
        assert process_facts(pid) is None and descendants(pid) == []
        kill_tree(pid)


def test_stall_watch_counts_from_the_last_progress():
    watch = StallWatch(timeout_s=900, min_cpu_seconds=1.0)
    assert watch.observe("run", cpu_seconds=10.0, activity=5, now=0) == 0
    assert watch.observe("run", cpu_seconds=10.5, activity=5, now=600) == 600  # 0.5 s: no progress
    assert not watch.stalled(600)
    assert watch.stalled(watch.observe("run", cpu_seconds=10.6, activity=5, now=900))
    assert watch.observe("run", cpu_seconds=10.6, activity=6, now=901) == 0  # a new event
    assert watch.observe("run", cpu_seconds=11.7, activity=6, now=1500) == 0  # CPU time used
    assert not StallWatch(timeout_s=0).stalled(10**6)  # 0: never
