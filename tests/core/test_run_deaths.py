"""How a run ended from outside, read from the messages Dagster 1.13 itself writes (made here by
Dagster's own functions where it has them), and the one line a user reads when every try died."""

from __future__ import annotations

import json

from dagster._utils import get_run_crash_explanation

from osmose_dagster.core.ops.processes import stall_message
from osmose_dagster.core.ops.run_deaths import VANISHED, Death, death_from_messages, summary

RUN = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"


def _code_server(exit_code: int) -> str:
    """What the code server watching the run process writes when it dies (grpc/server.py)."""
    return "[DagsterApiServer] " + get_run_crash_explanation(
        prefix=f"Run execution process for {RUN}", exit_code=exit_code
    )


def test_a_run_process_killed_by_signal_9_reads_as_likely_out_of_memory():
    death = death_from_messages(["Started process for run (pid: 42).", _code_server(-9)])
    assert death == Death("signal", 9)
    assert summary([death, death, death]).startswith(
        "killed 3 times, last by signal 9 (SIGKILL): likely out of memory"
    )


def test_other_endings_each_say_what_happened():
    assert death_from_messages([_code_server(-15)]) == Death("signal", 15)
    assert "stopped from outside" in Death("signal", 15).likely
    assert death_from_messages([_code_server(3)]) == Death("exit", 3)
    assert death_from_messages(
        ["Run timed out due to taking longer than 180 seconds to start."]
    ) == Death("start_timeout", 180)
    assert death_from_messages(["Exceeded maximum runtime of 21600 seconds."]) == Death(
        "max_runtime", 21600
    )
    vanished = f"Detected run worker status FAILED: 'run process 7 {VANISHED}: ...'."
    assert death_from_messages([vanished]) == Death("vanished")


def test_a_hang_ended_by_run_monitoring_is_reported_as_a_hang_not_as_the_kill_that_ended_it():
    hung = "[LocalRunLauncher] " + stall_message("run process 7", 912.4, 0.02, "stopped")
    death = death_from_messages([hung, _code_server(-9)])
    assert death == Death("hung", 912)
    assert summary([Death("signal", 9), death]) == (
        "killed 2 times, last by run monitoring after 912 s without progress: the run was stuck "
        "(stopped, deadlocked, or waiting on I/O that never came)"
    )


def test_a_container_the_oom_killer_ended_is_read_from_the_docker_health_check():
    state = {"Status": "exited", "OOMKilled": True, "ExitCode": 137, "Health": {"Log": []}}
    message = (
        "Detected run worker status FAILED: 'Container status is exited. Container state: "
        f"{json.dumps(state)}'. Marking run {RUN} as failed."
    )
    assert death_from_messages([message]) == Death("oom")
    evicted = message.replace('"OOMKilled": true', '"OOMKilled": false')
    assert death_from_messages([evicted]) == Death("signal", 9)


def test_a_step_that_failed_on_its_own_is_not_a_death():
    assert death_from_messages(['Execution of run for "ingest_documents" failed.']) is None
    mixed = [Death("signal", 9), Death("start_timeout", 180)]
    assert summary(mixed).startswith("ended from outside 2 times, last by run monitoring")
