"""The drop-folder sensor evaluated outside the daemon, tick after tick, the way the daemon does
it: the cursor carried from tick to tick and the partition requests applied to the instance.

For the tests and the robustness harness, which must see each tick's result themselves.
"""

from __future__ import annotations

from dagster import AddDynamicPartitionsRequest, DagsterInstance, Definitions, build_sensor_context

from osmose_dagster.defs.partitions import DOCUMENTS

SENSOR = "ingest_new_decks"


class SensorTicks:
    def __init__(self, defs: Definitions, instance: DagsterInstance, sensor: str = SENSOR):
        self.defs, self.instance, self.cursor = defs, instance, None
        self.sensor = defs.resolve_sensor_def(sensor)

    def tick(self):
        # As the code server does: the sensor's resources are the definitions' top-level ones.
        with build_sensor_context(
            instance_ref=self.instance.get_ref(),
            definitions=self.defs,
            resources=self.defs.resources,
            cursor=self.cursor,
        ) as context:
            data = self.sensor.evaluate_tick(context)
        apply_partition_requests(self.instance, data)
        self.cursor = data.cursor
        return data

    def partitions(self) -> list[str]:
        return sorted(self.instance.get_dynamic_partitions(DOCUMENTS))


def apply_partition_requests(instance: DagsterInstance, data) -> None:
    """Add and delete the `documents` partitions a tick asked for, as the daemon does."""
    for request in data.dynamic_partitions_requests:
        if isinstance(request, AddDynamicPartitionsRequest):
            new = [
                k
                for k in request.partition_keys
                if not instance.has_dynamic_partition(DOCUMENTS, k)
            ]
            instance.add_dynamic_partitions(DOCUMENTS, new)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(DOCUMENTS, key)
