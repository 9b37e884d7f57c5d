"""Stores each asset's value as a file a person can open: JSON records, `.npy` vectors."""


from pathlib import Path
from urllib.parse import quote

import numpy as np
from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import TypeAdapter


class ReadableFileIOManager(ConfigurableIOManager):
    """`<base_dir>/<asset>/<partition key, %-escaped>.json|.npy`."""

    base_dir: str

    def _stem(self, context: InputContext | OutputContext) -> Path:
        asset = "/".join(context.asset_key.path)
        key = quote(context.asset_partition_key, safe="") if context.has_asset_partitions else "_"
        return Path(self.base_dir) / asset / key

    def handle_output(self, context: OutputContext, obj) -> None:
        if obj is None:
            return
        stem = self._stem(context)
        stem.parent.mkdir(parents=True, exist_ok=True)
        target = stem.with_suffix(".npy" if isinstance(obj, np.ndarray) else ".json")
        partial = target.with_name(target.name + ".partial")  # renamed into place when complete
        with partial.open("wb") as handle:
            if isinstance(obj, np.ndarray):
                np.save(handle, obj)
            else:
                handle.write(TypeAdapter(type(obj)).dump_json(obj, indent=1))
        partial.replace(target)
        context.add_output_metadata({"stored_at": str(target)})

    def load_input(self, context: InputContext):
        stem = self._stem(context)
        if stem.with_suffix(".npy").exists():
            return np.load(stem.with_suffix(".npy"))
        typing_type = context.upstream_output.dagster_type.typing_type
        return TypeAdapter(typing_type).validate_json(stem.with_suffix(".json").read_bytes())
