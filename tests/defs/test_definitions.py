"""What Dagster loads: the definitions, cheaply, with the right shape."""

from __future__ import annotations

import json
import subprocess
import sys

from dagster import AssetKey, DynamicPartitionsDefinition

from tests.support.paths import REPO_ROOT


def test_loading_the_definitions_imports_neither_torch_nor_sentence_transformers():
    # The webserver, daemon and sensors import this module often; the model stack costs seconds.
    code = (
        "import sys, json, osmose_dagster.definitions as d; d.defs.resolve_job_def('ingest_documents');"
        "print(json.dumps([m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_five_partitioned_assets_two_checks_one_job_in_process(osmose_home):
    from osmose_dagster.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    names = ["raw_documents", "extracted_slides", "topic_segments", "embeddings", "qdrant_index"]
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == set(names)
    for upstream, downstream in zip(names, names[1:]):
        assert AssetKey(upstream) in graph.get(AssetKey(downstream)).parent_keys
    for name in names:
        partitions = graph.get(AssetKey(name)).partitions_def
        assert (
            isinstance(partitions, DynamicPartitionsDefinition) and partitions.name == "documents"
        )
    checks = {key.name for key in graph.asset_check_keys}
    assert checks == {"vectors_are_valid", "points_match_chunks"}
    job = defs.resolve_job_def("ingest_documents")
    assert job.executor_def.name == "in_process"
    assert str(osmose_home) in defs.resources["qdrant"].path
