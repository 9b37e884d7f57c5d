"""What the operating system says about a run process (through psutil): is it still the process
that was started, how much CPU time it and its children have used, and is it making progress.

Run monitoring uses this on hosts where runs are local processes (the local dagster.yaml): a run
whose process is gone, or has used no CPU time for a long while (stopped, deadlocked, stuck on
I/O), is ended so that its compute slot is not held by a run that will never finish.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import psutil

from osmose_dagster.core.ops.run_deaths import STALLED

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

# psutil's status names, back to the letters of /proc/PID/stat that ProcessFacts.state keeps (a
# status not listed is kept as psutil's name, which describe_state then shows as it is).
_LETTERS = {
    psutil.STATUS_RUNNING: "R",
    psutil.STATUS_SLEEPING: "S",
    psutil.STATUS_DISK_SLEEP: "D",
    psutil.STATUS_STOPPED: "T",
    psutil.STATUS_TRACING_STOP: "t",
    psutil.STATUS_ZOMBIE: "Z",
    psutil.STATUS_DEAD: "X",
    psutil.STATUS_IDLE: "I",
    psutil.STATUS_WAKING: "W",
    psutil.STATUS_PARKED: "P",
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


def _process(pid: int) -> psutil.Process | None:
    if pid <= 0:  # 0 and -1 are not processes (os.kill would signal a group, or everything)
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:  # gone (NoSuchProcess), or not ours to look at (AccessDenied)
        return None


def _tree(process: psutil.Process) -> list[psutil.Process]:
    """Its live children, their children, and so on (a LibreOffice conversion, say), each
    listed before its own children; [] once it is gone."""
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def _cpu_seconds(process: psutil.Process) -> float:
    """User + system time of the process itself (not of the children it has reaped)."""
    times = process.cpu_times()
    return times.user + times.system


def descendants(pid: int) -> list[int]:
    """The live children of `pid`, their children, and so on (a LibreOffice conversion, say)."""
    process = _process(pid)
    return [child.pid for child in _tree(process)] if process else []


def process_facts(pid: int) -> ProcessFacts | None:
    """The process `pid` as it is now, or None when there is no such process."""
    process = _process(pid)
    if process is None:
        return None
    try:
        with process.oneshot():  # one read of /proc/PID/stat for the three
            status = process.status()
            state = _LETTERS.get(status, status)
            started_at = process.create_time()
            cpu = _cpu_seconds(process)
    except psutil.Error:  # ended since (a zombie, not reaped yet, is still a process here)
        return None
    for child in _tree(process):
        with contextlib.suppress(psutil.Error):  # a child that ended meanwhile
            cpu += _cpu_seconds(child)
    return ProcessFacts(pid=pid, state=state, started_at=started_at, cpu_seconds=cpu)


def same_process(facts: ProcessFacts | None, started_by: float, slack_s: float = 2.0) -> bool:
    """Whether `facts` (alive) describe a process that existed at `started_by` (epoch seconds),
    rather than a later process that was given the same pid."""
    return facts is not None and not facts.exited and facts.started_at <= started_by + slack_s


def kill_tree(pid: int) -> None:
    """SIGKILL the process and its descendants (children first, so none is reparented and
    missed). A stopped process is killed too. psutil checks each one is still the process it
    listed (not a later one given its pid) before it signals it."""
    process = _process(pid)
    if process is None:
        return
    for victim in [*reversed(_tree(process)), process]:
        with contextlib.suppress(psutil.Error):
            victim.kill()


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
