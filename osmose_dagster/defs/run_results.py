"""What a finished run says, read from its Dagster events: each asset's metadata, its checks, and
why it failed, in the words a user reads in the UI (for the `osmose` CLI and the test harness).

Works on the events of an in-process result (`result.all_events`) and on those of the instance's
event log (`[entry.dagster_event for entry in instance.all_logs(run_id)]`) alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dagster import DagsterEvent, DagsterEventType

from osmose_dagster.core.errors import OsmoseError
from osmose_dagster.instance.dagster_private import SerializableErrorInfo


@dataclass(frozen=True)
class RunFailure:
    error_class: str  # the class of the error a user should read ("" when there is none)
    message: str  # one line, without Dagster's "module.Class: " prefix


def metadata_by_asset(events: Iterable[DagsterEvent | None]) -> dict[str, dict]:
    """{asset name: {metadata key: plain value}} of the run's materializations (the last one wins)."""
    by_asset: dict[str, dict] = {}
    for event in events:
        if event is None or event.event_type != DagsterEventType.ASSET_MATERIALIZATION:
            continue
        materialization = event.step_materialization_data.materialization
        by_asset[materialization.asset_key.to_user_string()] = {
            name: value.value for name, value in materialization.metadata.items()
        }
    return by_asset


def check_results(events: Iterable[DagsterEvent | None]) -> dict[str, bool]:
    """{asset check name: passed}."""
    return {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data.passed
        for event in events
        if event is not None and event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }


def first_failure(events: Iterable[DagsterEvent | None]) -> RunFailure:
    """Why the run failed: its first failed step's error, else the run failure's. Of an error's
    cause chain, the first of our own typed errors is the one a user should read, else the
    innermost."""
    listed = [event for event in events if event is not None]
    for event in listed:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            return _typed_or_innermost(event.step_failure_data.error)
    for event in listed:
        if event.event_type == DagsterEventType.RUN_FAILURE:
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                return _typed_or_innermost(error)
            return RunFailure("", (event.message or "the run failed").splitlines()[0])
    return RunFailure("", "the run failed (see the run in the Dagster UI)")


PROCESS_DIED = "RunProcessDied"
_DIED = re.compile(r"signal|exited|terminated|died|process", re.IGNORECASE)


def failure_classes(events: Iterable[DagsterEvent | None], per_document_key: str) -> list[str]:
    """The error classes of a failed run, for the failure counters: each bad deck's own class
    where a batch step named them (its failure metadata under `per_document_key`), else each
    failed step's error class; a run that failed with no failed step and a message about its
    process is RunProcessDied (killed, out of memory, evicted)."""
    classes: list[str] = []
    listed = [event for event in events if event is not None]
    for event in listed:
        if event.event_type != DagsterEventType.STEP_FAILURE:
            continue
        data = event.step_failure_data
        named = (
            data.user_failure_data.metadata.get(per_document_key)
            if data.user_failure_data
            else None
        )
        if named is not None and isinstance(named.value, dict):
            classes += [str(name) for name in named.value.values()]
        else:
            classes.append(_typed_or_innermost(data.error).error_class or "StepFailure")
    if not classes:
        failure = first_failure(listed)
        died = not failure.error_class and _DIED.search(failure.message)
        classes.append(failure.error_class or (PROCESS_DIED if died else "RunFailure"))
    return classes


def typed_error_names() -> set[str]:
    """OsmoseError and every subclass of it (DeckError and its causes included), by class name."""
    names: set[str] = set()
    todo: list[type] = [OsmoseError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _typed_or_innermost(error: SerializableErrorInfo | None) -> RunFailure:
    typed = typed_error_names()
    chain: list[SerializableErrorInfo] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.cause or getattr(error, "context", None)
    chosen = next((e for e in chain if e.cls_name in typed), chain[-1])
    message = " ".join((chosen.message or "").split())
    # Dagster writes "module.path.ClassName: message"; the message alone is what a user reads.
    message = re.sub(rf"^[\w.]*\b{re.escape(chosen.cls_name or '')}: ", "", message)
    return RunFailure(chosen.cls_name or "", message)


def unreadable_documents(events: Iterable[DagsterEvent | None]) -> dict[str, str]:
    """{document: why} for the decks a failed batch run could not read (none: it failed for
    another reason)."""
    from osmose_dagster.defs.batch_failures import BAD_DOCUMENTS

    bad: dict[str, str] = {}
    for event in events:
        if event is None or event.event_type != DagsterEventType.STEP_FAILURE:
            continue
        failure = event.step_failure_data.user_failure_data
        named = failure.metadata.get(BAD_DOCUMENTS) if failure else None
        if named is not None and isinstance(named.value, dict):
            bad.update({str(key): str(why) for key, why in named.value.items()})
    return bad
