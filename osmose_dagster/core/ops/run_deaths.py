"""How a run ended from outside, read from what Dagster and run monitoring wrote when it did, and
the one line a user reads when a deck's run died on every try.

Dagster's run retries re-run a run whose process died (killed, out of memory, hung and ended by
run monitoring). When the last try dies too, the final run says, in one line, how many tries died
and how the last one did, with its likely cause:

    killed 3 times, last by signal 9 (SIGKILL): likely out of memory (...)

The messages parsed here are Dagster 1.13's own (the code server that watched the run process,
the run monitoring daemon, the Docker run launcher's health check) and the local run launcher's
(`osmose_dagster/instance/local_run_launcher.py`, which uses the phrases below).
"""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass

# The local run launcher's health-check messages (kept here so that both sides agree).
VANISHED = "is gone and nothing recorded how it ended"
STALLED = "made no progress"

_SIGNAL = re.compile(r"was terminated by signal (\d+)")
_EXIT = re.compile(r"unexpectedly exited with code (-?\d+)")
_START_TIMEOUT = re.compile(r"taking longer than (\d+) seconds to start")
_MAX_RUNTIME = re.compile(r"(?:Exceeded|exceeding) maximum runtime of (\d+) seconds")
_STALLED_FOR = re.compile(STALLED + r" for (\d+) ?s")
_CONTAINER_STATE = "Container state: "


@dataclass(frozen=True)
class Death:
    """How one try of a run ended from outside."""

    kind: str  # signal | exit | oom | vanished | hung | start_timeout | max_runtime
    number: int | None = None  # the signal, exit code or seconds

    @property
    def how(self) -> str:
        if self.kind == "signal":
            return f"by signal {self.number} ({_signal_name(self.number)})"
        if self.kind == "exit":
            return f"exiting with code {self.number}"
        if self.kind == "oom":
            return "by the container's out-of-memory killer"
        if self.kind == "vanished":
            return "with its process gone and no exit status recorded"
        if self.kind == "hung":
            return f"by run monitoring after {self.number} s without progress"
        if self.kind == "start_timeout":
            return f"by run monitoring: not started within {self.number} s"
        return f"by run monitoring at its maximum runtime of {self.number} s"

    @property
    def likely(self) -> str:
        if self.kind == "oom" or (self.kind == "signal" and self.number == signal.SIGKILL):
            return (
                "likely out of memory (the kernel's OOM killer sends SIGKILL; so do `kill -9` "
                "and a container runtime evicting the run)"
            )
        if self.kind == "signal" and self.number in (signal.SIGTERM, signal.SIGINT):
            return "stopped from outside (a shutdown, a container stop, a person)"
        if self.kind == "signal" and self.number in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT):
            return "a crash in native code (torch, CUDA, LibreOffice)"
        if self.kind == "vanished":
            return (
                "likely killed together with the process that watched it (a daemon or code "
                "server crash, a killed process group, a host restart)"
            )
        if self.kind == "hung":
            return "the run was stuck (stopped, deadlocked, or waiting on I/O that never came)"
        if self.kind == "start_timeout":
            return "the run process could not start (host overloaded, image not pulled)"
        if self.kind == "max_runtime":
            return "the run was too slow or stuck; raise run_monitoring.max_runtime_seconds if not"
        return "the run process ended by itself without reporting why"

    @property
    def killed(self) -> bool:
        return self.kind in ("signal", "oom", "vanished", "hung")


def death_from_messages(messages: list[str]) -> Death | None:
    """How a failed run ended, from its engine and run-failure event messages (in event order),
    or None when it did not end from outside (a step failed on its own)."""
    found: Death | None = None
    for message in messages:
        death = _death_in(message)
        # A hang ended by run monitoring is then reported as killed by signal 9 too: the first
        # finding (the hang) is the better explanation.
        if death is not None and (
            found is None or found.kind not in ("hung", "start_timeout", "max_runtime")
        ):
            found = death
    return found


def _death_in(message: str) -> Death | None:
    if match := _STALLED_FOR.search(message):
        return Death("hung", int(match.group(1)))
    if VANISHED in message:
        return Death("vanished")
    if match := _SIGNAL.search(message):
        return Death("signal", int(match.group(1)))
    if match := _EXIT.search(message):
        code = int(match.group(1))
        return Death("signal", -code) if code < 0 else Death("exit", code)
    if match := _START_TIMEOUT.search(message):
        return Death("start_timeout", int(match.group(1)))
    if match := _MAX_RUNTIME.search(message):
        return Death("max_runtime", int(match.group(1)))
    if _CONTAINER_STATE in message:
        return _container_death(message, message.index(_CONTAINER_STATE) + len(_CONTAINER_STATE))
    return None


def _container_death(message: str, start: int) -> Death | None:
    """Docker's container state (JSON, in the Docker run launcher's health-check message)."""
    try:
        state, _ = json.JSONDecoder().raw_decode(message, start)
    except ValueError:
        return None
    if not isinstance(state, dict):
        return None
    if state.get("OOMKilled"):
        return Death("oom")
    code = state.get("ExitCode")
    if isinstance(code, int) and code > 128:
        return Death("signal", code - 128)  # a shell's convention, which Docker follows
    if isinstance(code, int):
        return Death("exit", code)
    return None


def summary(deaths: list[Death]) -> str:
    """`killed 3 times, last by signal 9 (SIGKILL): likely out of memory (...)`."""
    if not deaths:
        raise ValueError("no deaths to summarise")
    count, last = len(deaths), deaths[-1]
    verb = "killed" if all(death.killed for death in deaths) else "ended from outside"
    return f"{verb} {count} time{'s' if count != 1 else ''}, last {last.how}: {last.likely}"


def _signal_name(number: int | None) -> str:
    try:
        return signal.Signals(number or 0).name
    except ValueError:
        return "unknown signal"
