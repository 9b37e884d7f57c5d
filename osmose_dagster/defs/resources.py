"""ConfigurableResources, and the one place that picks them per deployment."""


import os

from dagster import ConfigurableResource, EnvVar

from ..core.embed import Embedder, load_embedder
from ..core.index import IndexLocation, collection_name_for
from ..core.settings import Settings
from .io_manager import ReadableFileIOManager

PRODUCTION_MODEL = "intfloat/multilingual-e5-large"


class EmbedderResource(ConfigurableResource):
    """The sentence-transformers model; loaded on first use, once per run process."""

    model: str
    device: str = "auto"
    batch_size: int = 64

    def load(self, log) -> Embedder:
        embedder = load_embedder(self.model, self.device, self.batch_size)
        choice = embedder.device
        log.info(
            f"model {self.model} on {choice.device} ({choice.reason}); "
            f"loaded in {embedder.load_seconds:.1f}s, once for this process"
        )
        if choice.fell_back_to_cpu:
            log.warning("no GPU in this run: embedding on the CPU, expect it to be slow")
        return embedder


class QdrantResource(ConfigurableResource):
    """The embedded store under OSMOSE_HOME by default; a server when `url` is set."""

    path: str | None = None
    url: str | None = None
    api_key: str | None = None
    collection: str | None = None
    lock_timeout_s: float = 120.0

    def location(self, model: str) -> IndexLocation:
        from pathlib import Path

        return IndexLocation(
            collection=self.collection or collection_name_for(model),
            path=Path(self.path) if self.path and not self.url else None,
            url=self.url,
            api_key=self.api_key,
            lock_timeout_s=self.lock_timeout_s,
        )


class InboxResource(ConfigurableResource):
    """The drop folder: every document is a file in it, keyed by its relative path."""

    path: str


class SegmenterResource(ConfigurableResource):
    """Granularity of topic segments: 0 = one slide each; larger = fewer, longer segments."""

    penalty: float


def _secret(name: str):
    # EnvVar keeps the value out of the UI's resource config and out of run storage.
    return EnvVar(name) if os.environ.get(name) else None


def local_resources(settings: Settings) -> dict:
    return {
        "embedder": EmbedderResource(
            model=settings.model, device=settings.device, batch_size=settings.batch_size
        ),
        "qdrant": QdrantResource(
            path=str(settings.qdrant_path),
            url=settings.qdrant_url,
            api_key=_secret("QDRANT_API_KEY"),
            collection=settings.collection,
            lock_timeout_s=settings.lock_timeout_s,
        ),
        "inbox": InboxResource(path=str(settings.inbox)),
        "segmenter": SegmenterResource(penalty=settings.segment_penalty),
        "io_manager": ReadableFileIOManager(base_dir=str(settings.asset_storage)),
    }


def production_resources(settings: Settings) -> dict:
    """docker-compose: a Qdrant server, the e5-large model from the mounted cache."""
    resources = local_resources(settings)
    resources["embedder"] = EmbedderResource(
        model=os.environ.get("OSMOSE_MODEL") or PRODUCTION_MODEL,
        device=settings.device,
        batch_size=settings.batch_size,
    )
    resources["qdrant"] = QdrantResource(
        url=EnvVar("QDRANT_URL"),
        api_key=_secret("QDRANT_API_KEY"),
        collection=settings.collection,
    )
    return resources


RESOURCES_BY_DEPLOYMENT = {"local": local_resources, "production": production_resources}


def resources_for_deployment(name: str, settings: Settings) -> dict:
    try:
        return RESOURCES_BY_DEPLOYMENT[name](settings)
    except KeyError:
        raise ValueError(
            f"OSMOSE_DEPLOYMENT={name!r}: expected one of {', '.join(RESOURCES_BY_DEPLOYMENT)}"
        ) from None
