"""Configuration from environment variables, in one place (the README documents each)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SEGMENT_PENALTY = 1.0
DEFAULT_BATCH_SIZE = 64
DEFAULT_LOCK_TIMEOUT_S = 120.0
DEFAULT_REINDEX_CRON = "0 3 * * *"
DEFAULT_STABLE_SECONDS = 5.0  # a dropped deck must be this old, and unchanged for one tick


@dataclass(frozen=True)
class Settings:
    home: Path
    model: str = DEFAULT_MODEL
    device: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    segment_penalty: float = DEFAULT_SEGMENT_PENALTY
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    collection: str | None = None
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    gpus: str | None = None  # OSMOSE_GPUS: "0,1" or "cpu:N"; unset = discovered
    cpu_fallback: bool = False
    reindex_cron: str = DEFAULT_REINDEX_CRON
    metrics: str | None = None  # OSMOSE_METRICS_DIR
    stable_seconds: float = DEFAULT_STABLE_SECONDS

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def qdrant_path(self) -> Path:
        return self.home / "qdrant"

    @property
    def asset_storage(self) -> Path:
        return self.home / "assets"

    @property
    def metrics_dir(self) -> Path:
        return Path(self.metrics) if self.metrics else self.home / "metrics"

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        home = Path(env.get("OSMOSE_HOME") or Path.cwd() / "data").expanduser().resolve()
        return cls(
            home=home,
            model=env.get("OSMOSE_MODEL") or DEFAULT_MODEL,
            device=env.get("OSMOSE_DEVICE") or "auto",
            batch_size=_number(env, "OSMOSE_BATCH_SIZE", DEFAULT_BATCH_SIZE, int, minimum=1),
            segment_penalty=_number(
                env, "OSMOSE_SEGMENT_PENALTY", DEFAULT_SEGMENT_PENALTY, float, minimum=0
            ),
            qdrant_url=env.get("QDRANT_URL") or None,
            qdrant_api_key=env.get("QDRANT_API_KEY") or None,
            collection=env.get("OSMOSE_COLLECTION") or None,
            lock_timeout_s=_number(
                env, "OSMOSE_LOCK_TIMEOUT_S", DEFAULT_LOCK_TIMEOUT_S, float, minimum=0
            ),
            gpus=env.get("OSMOSE_GPUS") or None,
            cpu_fallback=(env.get("OSMOSE_CPU_FALLBACK") or "").lower() in ("1", "true", "yes"),
            reindex_cron=env.get("OSMOSE_REINDEX_CRON") or DEFAULT_REINDEX_CRON,
            metrics=env.get("OSMOSE_METRICS_DIR") or None,
            stable_seconds=_number(
                env, "OSMOSE_STABLE_SECONDS", DEFAULT_STABLE_SECONDS, float, minimum=0
            ),
        )


def _number(env: Mapping[str, str], name: str, default, kind, minimum):
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value
