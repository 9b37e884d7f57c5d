"""Pauses at exact points of a real run, for tests that must kill or stop a run process there:
Python imports this module at start-up in every process whose PYTHONPATH holds this folder (a
test deployment's daemon, code server and run processes).

When OSMOSE_TEST_PAUSES names a folder, a process reaching one of these points for a document
whose file `<document>.<point>` (the document's key URL-quoted) is in that folder renames it to
`<document>.<point>.paused`, writes its pid into it, and sleeps OSMOSE_TEST_PAUSE_S seconds
(default 600); the test waits for `.paused`, then kills or stops that pid. Each file pauses one
process once, so the retry of a killed run does not pause.

- `after-write`: the document's new points were written to the embedded index for real, and its
  old points are not removed yet, as after a crash in the middle of `replace_documents`.
- `before-success`: every step of the run (of that partition) succeeded, and the run's success
  is not recorded yet.

Nothing is mocked: the write, the index, the events and the run are the real ones.
"""

from __future__ import annotations

import contextlib
import os


def _pause(folder: str, document: str, point: str) -> None:
    import time
    from pathlib import Path
    from urllib.parse import quote

    planned = Path(folder) / f"{quote(document, safe='')}.{point}"
    paused = planned.with_name(planned.name + ".paused")
    try:
        os.replace(planned, paused)
    except FileNotFoundError:
        return
    paused.write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("OSMOSE_TEST_PAUSE_S", "600")))


def _install(folder: str) -> None:
    from dagster import DagsterEventType, DagsterInstance

    from osmose_dagster.core.index.edge import EdgeEngine

    upsert = EdgeEngine.upsert
    handle_new_event = DagsterInstance.handle_new_event

    def upsert_then_pause(self, points):
        upsert(self, points)
        for document in sorted({point.payload.get("document") or "" for point in points} - {""}):
            _pause(folder, document, "after-write")

    def pause_before_success(self, event, **kwargs):
        if event.dagster_event and event.dagster_event.event_type == DagsterEventType.RUN_SUCCESS:
            run = self.get_run_by_id(event.run_id)
            partition = run.tags.get("dagster/partition") if run else None
            if partition:
                _pause(folder, partition, "before-success")
        return handle_new_event(self, event, **kwargs)

    EdgeEngine.upsert = upsert_then_pause  # type: ignore[method-assign]
    DagsterInstance.handle_new_event = pause_before_success  # type: ignore[method-assign]


if os.environ.get("OSMOSE_TEST_PAUSES"):
    # A Python without the project (LibreOffice's, say) has nothing to pause.
    with contextlib.suppress(ImportError):
        _install(os.environ["OSMOSE_TEST_PAUSES"])
