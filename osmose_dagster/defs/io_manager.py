"""Stores each asset's value as a file a person can open: JSON records, `.npy` vectors.

Every asset handles a batch of document partitions (one for a sensor run, many for a backfill
run), so values travel as `{partition key: value}` and each partition is its own file.
"""

import typing
from pathlib import Path
from urllib.parse import quote

import numpy as np
from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import TypeAdapter


class ReadableFileIOManager(ConfigurableIOManager):
    """`<base_dir>/<asset>/<partition key, %-escaped>.json|.npy`."""

    base_dir: str

    def _path(self, context: InputContext | OutputContext, key: str, suffix: str) -> Path:
        asset = "/".join(context.asset_key.path)
        # Appended, not replaced: the partition key "deck.pptx" becomes "deck.pptx.json".
        return Path(self.base_dir) / asset / (quote(key, safe="") + suffix)

    def handle_output(self, context: OutputContext, obj: dict) -> None:
        if obj is None:
            return
        stored = []
        for key, value in obj.items():
            is_array = isinstance(value, np.ndarray)
            target = self._path(context, key, ".npy" if is_array else ".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")  # renamed into place when complete
            with partial.open("wb") as handle:
                if is_array:
                    np.save(handle, value)
                else:
                    handle.write(TypeAdapter(type(value)).dump_json(value, indent=1))
            partial.replace(target)
            stored.append(str(target))
        if len(stored) == 1:
            context.add_output_metadata({"stored_at": stored[0]})

    def load_input(self, context: InputContext) -> dict:
        values = {}
        for key in context.asset_partition_keys:
            vectors = self._path(context, key, ".npy")
            if vectors.exists():
                values[key] = np.load(vectors)
                continue
            # The input is annotated `dict[str, Record]` in the asset that reads it: parse as Record.
            record_type = typing.get_args(context.dagster_type.typing_type)[1]
            raw = self._path(context, key, ".json").read_bytes()
            values[key] = TypeAdapter(record_type).validate_json(raw)
        return values
