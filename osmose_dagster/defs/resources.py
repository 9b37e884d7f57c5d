"""ConfigurableResources, and the one place that picks them per deployment."""


import os
import time

from dagster import ConfigurableResource, EnvVar

from pathlib import Path

from ..core.device_lock import hold_slot
from ..core.embed import Embedder, EncodeStats, load_embedder
from ..core.gpu import GPU_TAG, describe_device, device_for_slot, device_slots
from ..core.index import IndexLocation, collection_name_for
from ..core.metrics import write_embedding_metrics
from ..core.settings import (
    DEFAULT_QDRANT_RETRIES,
    DEFAULT_QDRANT_TIMEOUT_S,
    ExtractionLimits,
    Settings,
    read_passwords,
)
from .io_manager import ReadableFileIOManager

PRODUCTION_MODEL = "intfloat/multilingual-e5-large"


_RUN_ENCODING: dict[str, EncodeStats] = {}  # run id -> what its steps encoded so far


class EmbedderResource(ConfigurableResource):
    """The sentence-transformers model; loaded on first use, once per run process.

    A run embeds only while holding a compute slot (a GPU, or a CPU slot): the one its
    `osmose/gpu` tag names, else the first free one, waiting if all are busy.
    """

    model: str
    device: str = "auto"
    batch_size: int = 0  # texts per forward pass; 0: 256 on a GPU, 64 on the CPU
    gpus: str | None = None  # OSMOSE_GPUS; unset = the GPUs this machine has, else one CPU slot
    lock_dir: str
    cpu_fallback: bool = False
    metrics_dir: str | None = None  # a Prometheus text file per device after each run

    def load_for_run(self, context) -> Embedder:
        tagged = context.run.tags.get(GPU_TAG)
        slot = hold_slot(
            Path(self.lock_dir),
            device_slots(self.gpus),
            preferred=tagged,
            on_wait=context.log.info,
        )
        choice = device_for_slot(slot, self.device, self.cpu_fallback)
        embedder = load_embedder(self.model, choice, self.batch_size)
        described = ", ".join(f"{k}={v}" for k, v in describe_device(choice.device).items())
        context.log.info(
            f"compute slot {slot} ({'from the run tag ' + GPU_TAG if tagged else 'first free slot'}); "
            f"{described}; why: {choice.reason}; model {self.model} loaded in "
            f"{embedder.load_seconds:.1f}s, once for this run process"
        )
        if choice.device == "cpu" and not slot.startswith("cpu"):
            context.log.warning(f"GPU {slot} is not usable here: embedding on the CPU (slow)")
        elif choice.fell_back_to_cpu:
            context.log.warning("no GPU in this run: embedding on the CPU, expect it to be slow")
        return embedder

    def record_encoding(self, context, model: Embedder, stats: EncodeStats) -> None:
        """Add a step's encoding to its run's figures and rewrite the Prometheus text file with
        them: the slides are encoded while segmenting, and only a long slide's pieces after."""
        if not self.metrics_dir:
            return
        run_id = context.run.run_id
        if run_id not in _RUN_ENCODING:
            _RUN_ENCODING.clear()  # one run at a time per process: keep only the current one
            _RUN_ENCODING[run_id] = EncodeStats()
        totals = _RUN_ENCODING[run_id]
        totals.add(stats)
        device = model.device_description()
        write_embedding_metrics(
            Path(self.metrics_dir),
            model=self.model,
            device=device["device"],
            device_name=str(device["device_name"]),
            texts=totals.texts,
            texts_per_second=totals.texts_per_second,
            peak_memory_bytes=totals.peak_memory_bytes,
            finished_at=time.time(),
        )

    def load_for_query(self) -> Embedder:
        """For a search query or a one-off command: no slot needed for so little work."""
        return load_embedder(self.model, self.device, self.batch_size)


class QdrantResource(ConfigurableResource):
    """The embedded store under OSMOSE_HOME by default; a server when `url` is set.

    `api_key` must be given as `EnvVar("QDRANT_API_KEY")` (as resources_for_deployment does): the
    UI's resource config then shows the variable's name, never its value. How long to try an
    unreachable server: `connect_retries` more tries of `connect_timeout_s` each
    (OSMOSE_QDRANT_RETRIES, OSMOSE_QDRANT_TIMEOUT_S).
    """

    path: str | None = None
    url: str | None = None
    api_key: str | None = None
    collection: str | None = None
    lock_timeout_s: float = 120.0
    connect_retries: int = DEFAULT_QDRANT_RETRIES
    connect_timeout_s: float = DEFAULT_QDRANT_TIMEOUT_S

    def location(self, model: str) -> IndexLocation:
        url, api_key = self._resolved(self.url), self._resolved(self.api_key)
        return IndexLocation(
            collection=self.collection or collection_name_for(model),
            path=Path(self.path) if self.path and not url else None,
            url=url,
            api_key=api_key,
            lock_timeout_s=self.lock_timeout_s,
            connect_attempts=self.connect_retries + 1,
            connect_timeout_s=self.connect_timeout_s,
        )

    @staticmethod
    def _resolved(value):
        """A field's value. In a run Dagster has resolved EnvVar fields; outside one (the CLI
        reads `build_definitions().resources`) the field still holds the EnvVar, a str whose
        text is the variable's *name*: used as is, the name would be sent as the API key, or
        used as the URL."""
        return value.get_value() if isinstance(value, EnvVar) else value


class InboxResource(ConfigurableResource):
    """The drop folder: every document is a file in it, keyed by its relative path.

    Also how much of a deck extraction agrees to read (OSMOSE_MAX_*), and the file of passwords
    to try on encrypted decks: its path only, read at extraction, so that no password reaches
    the resource config shown in the UI or stored with runs."""

    path: str
    max_file_bytes: int = ExtractionLimits.max_file_bytes
    max_slides: int = ExtractionLimits.max_slides
    max_slide_chars: int = ExtractionLimits.max_slide_chars
    max_unpacked_bytes: int = ExtractionLimits.max_unpacked_bytes
    max_member_bytes: int = ExtractionLimits.max_member_bytes
    deck_passwords_file: str | None = None

    def extraction_limits(self) -> ExtractionLimits:
        return ExtractionLimits(
            max_file_bytes=self.max_file_bytes,
            max_slides=self.max_slides,
            max_slide_chars=self.max_slide_chars,
            max_unpacked_bytes=self.max_unpacked_bytes,
            max_member_bytes=self.max_member_bytes,
        )

    def deck_passwords(self) -> tuple[str, ...]:
        return read_passwords(self.deck_passwords_file)


class SegmenterResource(ConfigurableResource):
    """Granularity of topic segments: 0 = one slide each; larger = fewer, longer segments."""

    penalty: float


def _secret(name: str):
    # EnvVar keeps the value out of the UI's resource config and out of run storage.
    return EnvVar(name) if os.environ.get(name) else None


def _embedder(settings: Settings, model: str) -> EmbedderResource:
    return EmbedderResource(
        model=model,
        device=settings.device,
        batch_size=settings.batch_size,
        gpus=settings.gpus,
        lock_dir=str(settings.locks),
        cpu_fallback=settings.cpu_fallback,
        metrics_dir=str(settings.metrics_dir),
    )


def _inbox(settings: Settings) -> InboxResource:
    limits = settings.limits
    return InboxResource(
        path=str(settings.inbox),
        max_file_bytes=limits.max_file_bytes,
        max_slides=limits.max_slides,
        max_slide_chars=limits.max_slide_chars,
        max_unpacked_bytes=limits.max_unpacked_bytes,
        max_member_bytes=limits.max_member_bytes,
        deck_passwords_file=(
            str(settings.deck_passwords_file) if settings.deck_passwords_file else None
        ),
    )


def local_resources(settings: Settings) -> dict:
    return {
        "embedder": _embedder(settings, settings.model),
        "qdrant": QdrantResource(
            path=str(settings.qdrant_path),
            url=settings.qdrant_url,
            api_key=_secret("QDRANT_API_KEY"),
            collection=settings.collection,
            lock_timeout_s=settings.lock_timeout_s,
            connect_retries=settings.qdrant_retries,
            connect_timeout_s=settings.qdrant_timeout_s,
        ),
        "inbox": _inbox(settings),
        "segmenter": SegmenterResource(penalty=settings.segment_penalty),
        "io_manager": ReadableFileIOManager(base_dir=str(settings.asset_storage)),
    }


def production_resources(settings: Settings) -> dict:
    """docker-compose: a Qdrant server, the e5-large model from the mounted cache."""
    resources = local_resources(settings)
    resources["embedder"] = _embedder(settings, os.environ.get("OSMOSE_MODEL") or PRODUCTION_MODEL)
    resources["qdrant"] = QdrantResource(
        url=EnvVar("QDRANT_URL"),
        api_key=_secret("QDRANT_API_KEY"),
        collection=settings.collection,
        connect_retries=settings.qdrant_retries,
        connect_timeout_s=settings.qdrant_timeout_s,
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
