"""ConfigurableResources, and the one place that picks them per deployment."""

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr

from osmose_dagster.core.index import IndexLocation, VectorIndex, index_location, open_index
from osmose_dagster.core.model import (
    Embedder,
    EncodeStats,
    describe_device,
    device_for_slot,
    load_embedder,
)
from osmose_dagster.core.ops import compute_slots, hold_slot, is_gpu_slot, write_embedding_metrics
from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.core.settings import (
    DEFAULT_LOCK_TIMEOUT_S,
    DEFAULT_QDRANT_REPLICAS,
    DEFAULT_QDRANT_RETRIES,
    DEFAULT_QDRANT_SHARDS,
    DEFAULT_QDRANT_TIMEOUT_S,
    DEFAULT_QDRANT_WRITE_CONSISTENCY,
    ExtractionLimits,
    OcrSettings,
    Settings,
    read_passwords,
)
from osmose_dagster.defs.io_manager import ReadableFileIOManager


class EmbedderResource(ConfigurableResource):
    """The sentence-transformers model; loaded on first use, once per run process.

    A run embeds only while holding a compute slot (a GPU, or a CPU slot): the one its
    `osmose/gpu` tag names, else the first free one, waiting if all are busy. The run's encoding
    totals (every step's) are kept here and written as a Prometheus text file after each step.
    """

    model: str
    device: str = "auto"
    batch_size: int = 0  # texts per forward pass; 0: 256 on a GPU, 64 on the CPU
    gpus: str | None = None  # OSMOSE_GPUS; unset = the GPUs this machine has, else one CPU slot
    lock_dir: str
    cpu_fallback: bool = False
    metrics_dir: str | None = None  # a Prometheus text file per device after each run

    _run_encoding: EncodeStats = PrivateAttr(default_factory=EncodeStats)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._run_encoding = EncodeStats()  # a fresh total for each run

    def load_for_run(self, context) -> Embedder:
        tagged = context.run.tags.get(SLOT_TAG)
        slot = hold_slot(
            Path(self.lock_dir),
            compute_slots(self.gpus),
            preferred=tagged,
            on_wait=context.log.info,
        )
        choice = device_for_slot(slot, self.device, self.cpu_fallback)
        embedder = load_embedder(self.model, choice, self.batch_size)
        described = ", ".join(f"{k}={v}" for k, v in describe_device(choice.device).items())
        given = "from the run tag " + SLOT_TAG if tagged else "first free slot"
        context.log.info(
            f"compute slot {slot} ({given}); {described}; why: {choice.reason}; model "
            f"{self.model} loaded in {embedder.load_seconds:.1f}s, once for this run process"
        )
        if choice.device == "cpu" and is_gpu_slot(slot):
            context.log.warning(f"GPU {slot} is not usable here: embedding on the CPU (slow)")
        elif choice.fell_back_to_cpu:
            context.log.warning("no GPU in this run: embedding on the CPU, expect it to be slow")
        return embedder

    def record_encoding(self, model: Embedder, stats: EncodeStats) -> None:
        """Add a step's encoding to its run's totals and rewrite the Prometheus text file with
        them: the slides are encoded while segmenting, and only a long slide's pieces after."""
        self._run_encoding.add(stats)
        if not self.metrics_dir:
            return
        totals = self._run_encoding
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


class QdrantResource(ConfigurableResource):
    """Where the points live: the embedded store under OSMOSE_HOME, or a server when `url` is set;
    one collection per model.

    `api_key` must be given as `EnvVar("QDRANT_API_KEY")` (as the resources below do): the UI's
    resource config then shows the variable's name, never its value. How long to try an
    unreachable server: `connect_retries` more tries of `connect_timeout_s` each
    (OSMOSE_QDRANT_RETRIES, OSMOSE_QDRANT_TIMEOUT_S).
    """

    collection: str
    path: str | None = None
    url: str | None = None
    api_key: str | None = None
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    connect_retries: int = DEFAULT_QDRANT_RETRIES
    connect_timeout_s: float = DEFAULT_QDRANT_TIMEOUT_S
    shards: int = DEFAULT_QDRANT_SHARDS
    replicas: int = DEFAULT_QDRANT_REPLICAS
    write_consistency: int = DEFAULT_QDRANT_WRITE_CONSISTENCY

    def location(self) -> IndexLocation:
        return IndexLocation(
            collection=self.collection,
            path=Path(self.path) if self.path and not self.url else None,
            url=self.url,
            api_key=self.api_key,
            lock_timeout_s=self.lock_timeout_s,
            connect_attempts=self.connect_retries + 1,
            connect_timeout_s=self.connect_timeout_s,
            shards=self.shards,
            replicas=self.replicas,
            write_consistency=self.write_consistency,
        )

    def open_index(
        self, lock_timeout_s: float | None = None
    ) -> AbstractContextManager[VectorIndex]:
        """The index, held for one operation; `lock_timeout_s` shortens the wait for the
        embedded store (the sensor must not wait a run's length)."""
        location = self.location()
        if lock_timeout_s is not None:
            location = location.with_lock_timeout(min(location.lock_timeout_s, lock_timeout_s))
        return open_index(location)


class InboxResource(ConfigurableResource):
    """The drop folder: every document is a file in it, keyed by its relative path.

    Also how much of a deck extraction agrees to read (OSMOSE_MAX_*), the file of passwords
    to try on encrypted decks: its path only, read at extraction, so that no password reaches
    the resource config shown in the UI or stored with runs; and how pictures are read (OCR:
    OSMOSE_OCR, OSMOSE_OCR_LANGUAGES, OSMOSE_TESSDATA, OSMOSE_OCR_BUDGET_S)."""

    path: str
    max_file_bytes: int = ExtractionLimits.max_file_bytes
    max_slides: int = ExtractionLimits.max_slides
    max_slide_chars: int = ExtractionLimits.max_slide_chars
    max_unpacked_bytes: int = ExtractionLimits.max_unpacked_bytes
    max_member_bytes: int = ExtractionLimits.max_member_bytes
    deck_passwords_file: str | None = None
    ocr_enabled: bool = OcrSettings.enabled
    ocr_languages: str = OcrSettings.languages
    ocr_tessdata: str | None = None
    ocr_budget_s: float = OcrSettings.budget_s
    ocr_cache_dir: str | None = None

    def ocr(self) -> OcrSettings:
        return OcrSettings(
            enabled=self.ocr_enabled,
            languages=self.ocr_languages,
            tessdata=Path(self.ocr_tessdata) if self.ocr_tessdata else None,
            budget_s=self.ocr_budget_s,
            cache_dir=Path(self.ocr_cache_dir) if self.ocr_cache_dir else None,
        )

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


def _secret(settings: Settings) -> EnvVar | None:
    # EnvVar keeps the value out of the UI's resource config and out of run storage.
    return EnvVar("QDRANT_API_KEY") if settings.qdrant_api_key else None


def _embedder(settings: Settings) -> EmbedderResource:
    return EmbedderResource(
        model=settings.model,
        device=settings.device,
        batch_size=settings.batch_size,
        gpus=settings.gpus,
        lock_dir=str(settings.locks),
        cpu_fallback=settings.cpu_fallback,
        metrics_dir=str(settings.metrics_dir),
    )


def _inbox(settings: Settings) -> InboxResource:
    limits, ocr = settings.limits, settings.ocr
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
        ocr_enabled=ocr.enabled,
        ocr_languages=ocr.languages,
        ocr_tessdata=str(ocr.tessdata) if ocr.tessdata else None,
        ocr_budget_s=ocr.budget_s,
        ocr_cache_dir=str(ocr.cache_dir) if ocr.cache_dir else None,
    )


def _qdrant(location: IndexLocation, **as_variables: Any) -> QdrantResource:
    """The resource for `index_location(settings)`; `as_variables` gives values by the name of
    their environment variable (EnvVar), so the UI shows the name, never a key."""
    fields: dict[str, Any] = {
        "collection": location.collection,
        "path": str(location.path) if location.path else None,
        "url": location.url,
        "lock_timeout_s": location.lock_timeout_s,
        "connect_retries": location.connect_attempts - 1,
        "connect_timeout_s": location.connect_timeout_s,
        "shards": location.shards,
        "replicas": location.replicas,
        "write_consistency": location.write_consistency,
    }
    return QdrantResource(**{**fields, **as_variables})


def local_resources(settings: Settings) -> dict:
    """The embedded store under OSMOSE_HOME (or QDRANT_URL's server), the packaged MiniLM."""
    return {
        "embedder": _embedder(settings),
        "qdrant": _qdrant(index_location(settings), api_key=_secret(settings)),
        "inbox": _inbox(settings),
        "segmenter": SegmenterResource(penalty=settings.segment_penalty),
        "io_manager": ReadableFileIOManager(base_dir=str(settings.asset_storage)),
    }


def production_resources(settings: Settings) -> dict:
    """docker-compose: a Qdrant server (QDRANT_URL, required), e5-large from the mounted cache
    (Settings' production default model)."""
    return {
        **local_resources(settings),
        "qdrant": _qdrant(
            index_location(settings), url=EnvVar("QDRANT_URL"), api_key=_secret(settings)
        ),
    }


RESOURCES_BY_DEPLOYMENT: dict[str, Callable[[Settings], dict]] = {
    "local": local_resources,
    "production": production_resources,
}


def resources_for(settings: Settings) -> dict:
    return RESOURCES_BY_DEPLOYMENT[settings.deployment](settings)
