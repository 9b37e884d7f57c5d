"""Dagster's DefaultRunLauncher (each run a process of the code server, on this host), plus the
worker health check that run monitoring asks for and the default launcher lacks.

In Dagster 1.13 the default launcher supports run monitoring's start timeout and maximum runtime,
but not `check_run_worker_health`, so a run whose process died unseen stays STARTED and keeps its
compute slot until the maximum runtime, if any. The code server watching a run process reports its
death itself (`... was terminated by signal 9`) while it lives; when it died too (a killed process
group, a daemon crash, a host restart), nothing does. This launcher answers run monitoring, for
each STARTED run:

- FAILED when the run's process is gone (or its pid now belongs to another process): the run is
  marked failed, and run retries start it again.
- FAILED when, for `stall_timeout_seconds`, the run wrote no event and its process (with its
  children: a LibreOffice conversion) used less than `stall_cpu_seconds` of CPU time: stopped,
  deadlocked, or stuck on I/O. It is killed first (SIGKILL, children too), so that it frees its
  slot lock, and run retries start it again.
- RUNNING otherwise, and when the run has no recorded process (a run of `osmose ingest`, which
  executes in the CLI's own process and is not this launcher's to judge).

The run process is the one Dagster names in the run's "Started process for run (pid: N)." event;
the host that runs the daemon must be the one that runs the code server, as it is locally.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from dagster import DagsterRun, DagsterRunStatus, DefaultRunLauncher, Field

from osmose_dagster.core.ops import (
    VANISHED,
    StallWatch,
    kill_tree,
    process_facts,
    same_process,
    stall_message,
)
from osmose_dagster.instance.dagster_private import (
    CheckRunHealthResult,
    ConfigurableClassData,
    WorkerStatus,
)
from osmose_dagster.instance.health import latest_event_id, recorded_run_process

# After finding a process gone, how long to let its code server report the death first (it
# checks every half second), so that the run is not failed twice.
GRACE_S = 5.0
STALL_CONFIG = {
    "stall_timeout_seconds": Field(
        int,
        is_required=False,
        default_value=900,
        description="End a run that wrote no event and used (almost) no CPU time for this long "
        "(0: never).",
    ),
    "stall_cpu_seconds": Field(
        float,
        is_required=False,
        default_value=1.0,
        description="CPU seconds a run must use in that time to count as making progress.",
    ),
}


class LocalRunLauncher(DefaultRunLauncher):
    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        stall_timeout_seconds: int = 900,
        stall_cpu_seconds: float = 1.0,
    ):
        super().__init__(inst_data=inst_data)
        self._stalls = StallWatch(
            timeout_s=stall_timeout_seconds, min_cpu_seconds=stall_cpu_seconds
        )
        self._processes: dict[str, tuple[int, float]] = {}  # run id -> (pid, recorded at)

    @classmethod
    def config_type(cls):
        return STALL_CONFIG

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]):
        return cls(inst_data=inst_data, **config_value)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        found = self._run_process(run.run_id)
        if found is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, msg="no run process recorded")
        pid, recorded_at = found
        facts = process_facts(pid)
        if facts is None or not same_process(facts, recorded_at):
            self._await_report(run.run_id)
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                msg=f"run process {pid} {VANISHED}: likely killed together with the code server "
                "that watched it (a killed process group, a daemon crash, a host restart)",
            )
        activity = latest_event_id(self._instance, run.run_id)
        idle_s = self._stalls.observe(run.run_id, facts.cpu_seconds, activity)
        if not self._stalls.stalled(idle_s):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        message = stall_message(
            f"run process {pid}",
            idle_s,
            self._stalls.cpu_since_progress(run.run_id, facts.cpu_seconds),
            facts.describe_state(),
        )
        self._instance.report_engine_event(message, run, cls=self.__class__)
        kill_tree(pid)
        self._await_report(run.run_id)
        return CheckRunHealthResult(WorkerStatus.FAILED, msg=message)

    def _run_process(self, run_id: str) -> tuple[int, float] | None:
        if run_id not in self._processes:
            found = recorded_run_process(self._instance, run_id)
            if found is None:
                return None
            if len(self._processes) > 10_000:  # a long-lived daemon: forget the oldest
                self._processes.pop(next(iter(self._processes)))
            self._processes[run_id] = found
        return self._processes[run_id]

    def _await_report(self, run_id: str) -> None:
        """Wait (briefly) for the run to be marked finished by its code server: run monitoring
        then sees the status changed and does not fail it a second time."""
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline:
            run = self._instance.get_run_by_id(run_id)
            if run is None or run.status != DagsterRunStatus.STARTED:
                return
            time.sleep(0.5)
