"""The parts of Dagster's private API (`dagster._...`) this project needs, in one place.

Checked against dagster 1.13.27: none of these is exported by `dagster` itself. An upgrade that
moves one fails tests/defs/test_dagster_private.py, which names each of them.
"""

from dagster._core.events import EngineEventData, RunFailureReason
from dagster._core.execution.retries import auto_reexecution_should_retry_run
from dagster._core.execution.stats import StepEventStatus
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import RUN_FAILURE_REASON_TAG, WILL_RETRY_TAG
from dagster._daemon.auto_run_reexecution.event_log_consumer import (
    DAGSTER_EVENT_TYPES as RUN_RETRY_EVENT_TYPES,
)
from dagster._daemon.auto_run_reexecution.event_log_consumer import (
    _create_cursor_key as run_retry_cursor_key,
)
from dagster._serdes.config_class import ConfigurableClassData
from dagster._utils.error import SerializableErrorInfo

__all__ = [
    "RUN_FAILURE_REASON_TAG",
    "RUN_RETRY_EVENT_TYPES",
    "WILL_RETRY_TAG",
    "CheckRunHealthResult",
    "ConfigurableClassData",
    "EngineEventData",
    "RunFailureReason",
    "SerializableErrorInfo",
    "StepEventStatus",
    "WorkerStatus",
    "auto_reexecution_should_retry_run",
    "run_retry_cursor_key",
]
