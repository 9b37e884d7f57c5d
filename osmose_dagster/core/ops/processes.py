"""What the operating system says about a run process (Linux `/proc`): is it still the process
that was started, how much CPU time it and its children have used, and is it making progress.

Run monitoring uses this on hosts where runs are local processes (the local dagster.yaml): a run
whose process is gone, or has used no CPU time for a long while (stopped, deadlocked, stuck on
I/O), is ended so that its compute slot is not held by a run that will never finish.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from osmose_dagster.core.ops.run_deaths import STALLED

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

STATES = {
    "R": "running",
    "S": "sleeping",
    "D": "waiting on I/O (uninterruptible)",
    "T": "stopped",
    "t": "stopped by a debugger",
    "Z": "a zombie (exited, not yet reaped)",
    "X": "dead",
    "I": "idle",
}


@dataclass(frozen=True)
class ProcessFacts:
    pid: int
    state: str  # one letter of STATES
    started_at: float  # epoch seconds (to about a second)
    cpu_seconds: float  # user + system time of the process and its live descendants

    @property
    def exited(self) -> bool:
        return self.state in ("Z", "X")

    def describe_state(self) -> str:
        return STATES.get(self.state, self.state)


def _stat(pid: int) -> tuple[str, int, float, int] | None:
    """(state, ppid, cpu seconds, start ticks since boot) from /proc/PID/stat, or None."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    fields = raw[raw.rindex(")") + 2 :].split()
    state, ppid = fields[0], int(fields[1])
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
    return state, ppid, cpu, int(fields[19])  # starttime


def _boot_time() -> float:
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise RuntimeError("no btime in /proc/stat")


def descendants(pid: int) -> list[int]:
    """The live children of `pid`, their children, and so on (a LibreOffice conversion, say)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def process_facts(pid: int) -> ProcessFacts | None:
    """The process `pid` as it is now, or None when there is no such process."""
    stat = _stat(pid)
    if stat is None:
        return None
    state, _, cpu, start_ticks = stat
    for child in descendants(pid):
        child_stat = _stat(child)
        if child_stat is not None:
            cpu += child_stat[2]
    return ProcessFacts(
        pid=pid, state=state, started_at=_boot_time() + start_ticks / _TICKS, cpu_seconds=cpu
    )


def same_process(facts: ProcessFacts | None, started_by: float, slack_s: float = 2.0) -> bool:
    """Whether `facts` (alive) describe a process that existed at `started_by` (epoch seconds),
    rather than a later process that was given the same pid."""
    return facts is not None and not facts.exited and facts.started_at <= started_by + slack_s


def kill_tree(pid: int) -> None:
    """SIGKILL the process and its descendants (children first, so none is reparented and
    missed). A stopped process is killed too."""
    for victim in [*reversed(descendants(pid)), pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)


@dataclass
class StallWatch:
    """Per run: the last time it made progress: its process used at least `min_cpu_seconds` of
    CPU time since then, or its activity marker (e.g. the id of its latest event) changed. A run
    that makes none for `timeout_s` is stalled. Runs not observed for an hour are forgotten."""

    timeout_s: float
    min_cpu_seconds: float = 1.0
    # run id -> (when it last made progress, its CPU seconds and activity then, last observed)
    _marks: dict[str, tuple[float, float, object, float]] = field(default_factory=dict)

    def observe(
        self, run_id: str, cpu_seconds: float, activity: object = None, now: float | None = None
    ) -> float:
        """Record a sample; returns the seconds since the run last made progress."""
        now = time.time() if now is None else now
        for stale in [r for r, mark in self._marks.items() if now - mark[3] > 3600]:
            del self._marks[stale]
        mark = self._marks.get(run_id)
        if (
            mark is None
            or cpu_seconds - mark[1] >= self.min_cpu_seconds
            or cpu_seconds < mark[1]
            or activity != mark[2]
        ):
            self._marks[run_id] = (now, cpu_seconds, activity, now)
            return 0.0
        self._marks[run_id] = (mark[0], mark[1], mark[2], now)
        return now - mark[0]

    def stalled(self, idle_s: float) -> bool:
        return self.timeout_s > 0 and idle_s >= self.timeout_s

    def cpu_since_progress(self, run_id: str, cpu_seconds: float) -> float:
        mark = self._marks.get(run_id)
        return cpu_seconds - mark[1] if mark else 0.0


def stall_message(what: str, idle_s: float, cpu_used_s: float, state: str | None = None) -> str:
    """The one line run monitoring writes when it ends a stalled run (core.run_deaths reads it)."""
    where = f"; it is {state}" if state else ""
    return (
        f"{what} {STALLED} for {idle_s:.0f} s (no new event, {cpu_used_s:.1f} s of CPU time in "
        f"that time{where}): ending it (SIGKILL) so that its compute slot is freed"
    )
