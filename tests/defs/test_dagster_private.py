"""Dagster's private API that this project uses lives in one module; an upgrade that moves any of
it fails here, by name, before it fails a run."""

import inspect

from osmose_dagster.instance import dagster_private


def test_every_private_name_still_imports_and_is_what_we_use_it_as():
    for name in dagster_private.__all__:
        assert getattr(dagster_private, name) is not None, name
    assert dagster_private.RunFailureReason.STEP_FAILURE.value
    assert dagster_private.StepEventStatus.SUCCESS
    assert {"instance", "run"} <= set(
        inspect.signature(dagster_private.auto_reexecution_should_retry_run).parameters
    )
    assert isinstance(dagster_private.RUN_FAILURE_REASON_TAG, str)
    assert isinstance(dagster_private.WILL_RETRY_TAG, str)


def test_no_other_module_imports_dagster_private_api():
    from pathlib import Path

    package = Path(dagster_private.__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "dagster_private.py" and "dagster._" in path.read_text()
    ]
    assert offenders == []
