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
        target = _with_suffix(stem, ".npy" if isinstance(obj, np.ndarray) else ".json")
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
        if _with_suffix(stem, ".npy").exists():
            return np.load(_with_suffix(stem, ".npy"))
        typing_type = context.upstream_output.dagster_type.typing_type
        return TypeAdapter(typing_type).validate_json(_with_suffix(stem, ".json").read_bytes())


def _with_suffix(stem: Path, suffix: str) -> Path:
    # Appended, not replaced: the partition key "deck.pptx" becomes "deck.pptx.json".
    return stem.with_name(stem.name + suffix)
