"""Qdrant as a cluster: the collection osmose creates on a Qdrant server carries the shard count,
the copies of each shard and the write consistency of the settings (OSMOSE_QDRANT_SHARDS,
OSMOSE_QDRANT_REPLICAS, OSMOSE_QDRANT_WRITE_CONSISTENCY), read from the ConfigMap of
deploy/helm/, and that ConfigMap agrees with the Qdrant chart's values.

The requests are what qdrant-client sends over HTTP, recorded by a local stand-in that answers
as Qdrant's REST API would (tests/support/qdrant_recorder.py). What this does not prove: that a
3-node Qdrant cluster accepts the request and places the shards and their copies on its nodes,
or how it behaves when a node is lost (no cluster here); that Helm renders qdrant-values.yaml as
intended (no Helm binary here; only the keys of the chart's values.yaml are used).
"""

from __future__ import annotations

import numpy as np
import pytest

from osmose_dagster.core.errors import ConfigError
from osmose_dagster.core.index.store import index_location, open_index
from osmose_dagster.core.records import Chunk
from osmose_dagster.core.settings import Settings
from osmose_dagster.defs.resources import production_resources
from tests.support.k8s import helm_documents, helm_file
from tests.support.qdrant_recorder import COLLECTION, Recorder, recording_qdrant

SETTINGS = helm_documents("osmose-settings.yaml")[0]["data"]
QDRANT_VALUES = helm_file("qdrant-values.yaml")
DAGSTER_VALUES = helm_file("dagster-values.yaml")


def _created_collection(environ: dict[str, str], tmp_path) -> dict:
    """The body of the PUT that creates the collection, when osmose first writes a document."""
    with recording_qdrant() as url:
        settings = Settings.from_env(
            {
                **environ,
                "OSMOSE_HOME": str(tmp_path),
                "QDRANT_URL": url,
                "OSMOSE_COLLECTION": COLLECTION,
            }
        )
        location = index_location(settings)
        chunks = [Chunk(0, 0, 1, 1, "Title", "Some text of a slide.")]
        with open_index(location) as index:
            index.replace_document("deck", "deck.pptx", chunks, np.eye(1, 4, dtype=np.float32), "m")
        (create,) = [
            body
            for method, path, body in Recorder.requests
            if method == "PUT" and path.count("/") == 2
        ]
    return create


def test_k8s_the_collection_is_created_with_the_clusters_shards_and_copies(tmp_path):
    """With the ConfigMap's settings: 6 shards, 2 copies of each, a write answered once 1 copy
    has it; the Dagster resource the runs use carries the same numbers."""
    create = _created_collection(SETTINGS, tmp_path)

    assert create["shard_number"] == 6
    assert create["replication_factor"] == 2
    assert create["write_consistency_factor"] == 1
    # The rest of the collection is unchanged (tests/core/test_index_server_requests.py).
    assert create["vectors"] == {"size": 4, "distance": "Cosine"}
    assert create["sparse_vectors"] == {"bm25": {"modifier": "idf"}}

    settings = Settings.from_env({**SETTINGS, "OSMOSE_HOME": str(tmp_path)})
    qdrant = production_resources(settings)["qdrant"]
    assert (qdrant.shards, qdrant.replicas, qdrant.write_consistency) == (6, 2, 1)


def test_k8s_without_settings_the_collection_suits_one_node(tmp_path):
    """Unset (docker compose, one Qdrant): one shard, one copy, as Qdrant's single node has."""
    create = _created_collection({}, tmp_path)
    assert (
        create["shard_number"],
        create["replication_factor"],
        create["write_consistency_factor"],
    ) == (1, 1, 1)


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"OSMOSE_QDRANT_REPLICAS": "2", "OSMOSE_QDRANT_WRITE_CONSISTENCY": "3"}, "every write"),
        ({"OSMOSE_QDRANT_SHARDS": "0"}, "OSMOSE_QDRANT_SHARDS"),
        ({"OSMOSE_QDRANT_REPLICAS": "two"}, "OSMOSE_QDRANT_REPLICAS"),
    ],
    ids=["consistency-above-copies", "no-shards", "not-a-number"],
)
def test_k8s_impossible_qdrant_settings_are_refused_when_read(environ, message):
    """Settings a cluster would reject, or that would fail every write, fail when read, naming
    the variable. Not proven: what a Qdrant cluster accepts beyond these."""
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_k8s_the_qdrant_values_match_what_the_pipeline_expects():
    """qdrant-values.yaml and the ConfigMap agree: 3 nodes in cluster mode, each shard's copies
    on as many nodes at most, more shards than nodes (room to add nodes), the pipeline's URL is
    the Service the chart names after the release, and the chart and the pipeline read the API
    key from the same Secret that the run pods get. Read from the files: not proven that Helm
    renders them so, nor that the Secret exists in the cluster."""
    nodes = QDRANT_VALUES["replicaCount"]
    assert nodes == 3
    assert QDRANT_VALUES["config"]["cluster"]["enabled"] is True
    assert int(SETTINGS["OSMOSE_QDRANT_REPLICAS"]) <= nodes
    assert int(SETTINGS["OSMOSE_QDRANT_SHARDS"]) >= nodes
    # `helm install osmose-qdrant qdrant/qdrant`: a release name holding the chart's name is the
    # chart's full name, and the Service's name.
    assert SETTINGS["QDRANT_URL"] == "http://osmose-qdrant:6333"
    secret = QDRANT_VALUES["apiKey"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": "osmose-qdrant", "key": "QDRANT_API_KEY"}
    launcher = DAGSTER_VALUES["runLauncher"]["config"]["customRunLauncher"]["config"]
    assert secret["name"] in launcher["env_secrets"]
    (code,) = DAGSTER_VALUES["dagster-user-deployments"]["deployments"]
    assert {"name": secret["name"]} in code["envSecrets"]
    # One Qdrant node per host, so that losing a host loses one copy of a shard, not both.
    anti = QDRANT_VALUES["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
