"""Text read from slide pictures with Tesseract, in process (tesserocr), each distinct picture once.

One `DeckPictures` per deck reads the deck's pictures: a picture seen before in the deck (same
bytes) is not read again, a picture read in an earlier ingest comes from the cache under
OSMOSE_HOME (one small JSON file per picture hash), and once the deck has spent its OCR time
budget the rest are skipped and counted. A picture that cannot be read is skipped and counted by
reason (pictures.py): it never fails its deck. Tesseract's engine is loaded once per process, on
the first picture: a deck without pictures costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from osmose_dagster.core.errors import ConfigError
from osmose_dagster.core.extract.pictures import (
    TIME_BUDGET,
    TOO_SLOW,
    UNREADABLE,
    Picture,
    PictureSkipped,
    prepare,
)
from osmose_dagster.core.settings import OcrSettings

# Words Tesseract is less sure of than this (0-100) are dropped. In the real corpus's pictures the
# words under 60 are mostly noise ("ErnBantfurone"), those from 60 up mostly real; on the bench's
# rendered pictures 60 costs 0.002 recall against 0, 90 costs 0.016 (bench/ocr_eval.py --thresholds).
MIN_CONFIDENCE = 60.0
# Text whose median word box is shorter than this (pixels) is read again upscaled to about
# TARGET_TEXT_PX: 12 px text 0.956 -> 1.0 recall; upscaling text of 18 px and more (a threshold
# of 20 or 32) cost 50% more time and lost words on low-contrast pictures (bench/ocr_eval.py).
SMALL_TEXT_PX = 16
TARGET_TEXT_PX = 32
MAX_UPSCALE = 4.0
MAX_UPSCALED_PIXELS = 16_000_000
# One picture may take at most this long, whatever is left of the deck's budget.
MAX_SECONDS_PER_PICTURE = 20.0
# Bump when what a picture gives changes (thresholds, pre-processing): the cache is keyed by it.
OCR_VERSION = "1"


@dataclass
class OcrStats:
    """What a deck's pictures gave, for the run's metadata."""

    read: int = 0  # distinct pictures read with Tesseract
    from_cache: int = 0  # distinct pictures whose text came from the cache
    repeats: int = 0  # pictures shown again in the deck: read once, not again
    skipped: Counter[str] = field(default_factory=Counter)  # distinct pictures, by reason
    words: int = 0  # words kept, over the distinct pictures
    seconds: float = 0.0  # spent reading (not counting cache hits)

    def as_metadata(self) -> dict[str, int | float]:
        figures: dict[str, int | float] = {
            "pictures_read": self.read,
            "pictures_from_cache": self.from_cache,
            "pictures_repeated": self.repeats,
            "pictures_skipped": sum(self.skipped.values()),
            "ocr_words": self.words,
            "ocr_seconds": round(self.seconds, 3),
        }
        figures |= {f"pictures_skipped_{reason}": n for reason, n in sorted(self.skipped.items())}
        return figures


class DeckPictures:
    """Reads one deck's pictures (see the module docstring); `read` never raises for a picture."""

    def __init__(self, settings: OcrSettings) -> None:
        self._settings = settings
        self._cache: _Cache | None = None  # made with the first picture: tesserocr is imported then
        self._texts: dict[str, str] = {}  # by picture hash, this deck
        self.stats = OcrStats()
        self.budget_exhausted_at: str | None = None  # the first picture skipped for time

    def read(self, picture: Picture) -> str:
        digest = hashlib.sha256(picture.blob).hexdigest()
        if digest in self._texts:
            self.stats.repeats += 1
            return self._texts[digest]
        text = self._read_new(digest, picture)
        self._texts[digest] = text
        return text

    def skip(self, reason: str) -> None:
        """Count a picture that was never looked at (e.g. a linked, not embedded, picture)."""
        self.stats.skipped[reason] += 1

    def _read_new(self, digest: str, picture: Picture) -> str:
        if self._cache is None and self._settings.cache_dir is not None:
            self._cache = _Cache(self._settings.cache_dir, self._settings.languages)
        if self._cache is not None and (cached := self._cache.get(digest)) is not None:
            self.stats.from_cache += 1
            self.stats.words += len(cached.split())
            return cached
        left = self._settings.budget_s - self.stats.seconds
        if left <= 0:
            self.stats.skipped[TIME_BUDGET] += 1
            self.budget_exhausted_at = self.budget_exhausted_at or picture.name
            return ""
        engine = _engine(self._settings)  # a missing language is the deployment's error: raised
        started = time.perf_counter()
        try:
            image = prepare(picture.blob)
            text, finished = engine.read(image, min(left, MAX_SECONDS_PER_PICTURE))
        except PictureSkipped as skipped:
            self.stats.skipped[skipped.reason] += 1
            return ""
        except Exception:  # any decoder or Tesseract failure costs this picture, not its deck
            self.stats.skipped[UNREADABLE] += 1
            return ""
        finally:
            self.stats.seconds += time.perf_counter() - started
        if not finished:  # stopped by its time limit: a part of its words, left out like the rest
            if left <= MAX_SECONDS_PER_PICTURE:
                self.stats.skipped[TIME_BUDGET] += 1
                self.budget_exhausted_at = self.budget_exhausted_at or picture.name
            else:
                self.stats.skipped[TOO_SLOW] += 1
            return ""
        self.stats.read += 1
        self.stats.words += len(text.split())
        if self._cache is not None:
            self._cache.put(digest, text)
        return text


class _Cache:
    """Text per picture hash, one JSON file each, under a folder per OCR configuration (version,
    languages, Tesseract version) so that a change of any of them reads pictures again."""

    def __init__(self, folder: Path, languages: str) -> None:
        import tesserocr

        configuration = f"{OCR_VERSION}|{languages}|{tesserocr.tesseract_version()}"
        self._folder = folder / hashlib.sha256(configuration.encode()).hexdigest()[:12]

    def get(self, digest: str) -> str | None:
        try:
            value = json.loads(self._path(digest).read_text(encoding="utf-8"))
            return value["text"] if isinstance(value.get("text"), str) else None
        except (OSError, ValueError, AttributeError):  # absent, or half-written by a dead run
            return None

    def put(self, digest: str, text: str) -> None:
        path = self._path(digest)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_text(json.dumps({"text": text}, ensure_ascii=False), "utf-8")
            os.replace(temporary, path)
        except OSError:  # a read-only or full disk costs a re-read next time, nothing else
            pass

    def _path(self, digest: str) -> Path:
        return self._folder / digest[:2] / f"{digest}.json"


class _Engine:
    """One Tesseract API for the process; a lock keeps two threads from sharing it at once."""

    def __init__(self, tessdata: Path, languages: str) -> None:
        import tesserocr

        missing = [
            lang
            for lang in languages.split("+")
            if not (tessdata / f"{lang}.traineddata").is_file()
        ]
        if missing:
            raise ConfigError(
                f"OCR languages {', '.join(missing)} not found in {tessdata} (install Debian's "
                f"tesseract-ocr-{missing[0]}, set OSMOSE_TESSDATA to the folder of "
                f"*.traineddata, or OSMOSE_OCR=off)"
            )
        self._tesserocr = tesserocr
        self._api = tesserocr.PyTessBaseAPI(
            path=str(tessdata), lang=languages, oem=tesserocr.OEM.LSTM_ONLY
        )
        # Sauvola's local threshold instead of one Otsu threshold for the whole picture: text on
        # a gradient ground 0.54 -> 0.91 recall, nothing else worse (bench/ocr_eval.py).
        self._api.SetVariable("thresholding_method", "2")
        self._lock = threading.Lock()

    def read(self, image: Image.Image, seconds: float) -> tuple[str, bool]:
        """The confident words, line by line, and whether Tesseract finished in time."""
        with self._lock:
            words, finished = self._words(image, seconds)
            height = _median_height(words)
            scale = min(TARGET_TEXT_PX / height if height else 0.0, MAX_UPSCALE)
            pixels = image.width * image.height * scale * scale
            if finished and height and height < SMALL_TEXT_PX and pixels <= MAX_UPSCALED_PIXELS:
                size = (round(image.width * scale), round(image.height * scale))
                words, finished = self._words(image.resize(size, Image.Resampling.LANCZOS), seconds)
        return _text(words), finished

    def _words(self, image: Image.Image, seconds: float) -> tuple[list[_Word], bool]:
        RIL = self._tesserocr.RIL
        self._api.SetImage(image)
        finished = self._api.Recognize(timeout=max(1, int(seconds * 1000)))
        words: list[_Word] = []
        iterator = self._api.GetIterator()
        if iterator is None:
            return words, finished
        line = 0
        while True:
            if not iterator.Empty(RIL.WORD):
                if iterator.IsAtBeginningOf(RIL.TEXTLINE):
                    line += 1
                text = (iterator.GetUTF8Text(RIL.WORD) or "").strip()
                box = iterator.BoundingBox(RIL.WORD)
                words.append(_Word(text, iterator.Confidence(RIL.WORD), line, box[3] - box[1]))
            if not iterator.Next(RIL.WORD):
                break
        return words, finished


@dataclass(frozen=True)
class _Word:
    text: str
    confidence: float
    line: int
    height: int


def _kept(word: _Word) -> bool:
    return word.confidence >= MIN_CONFIDENCE and any(c.isalnum() for c in word.text)


def _median_height(words: list[_Word]) -> int:
    """The text's size, from every word Tesseract found (small text is found, but not trusted)."""
    heights = sorted(
        word.height for word in words if len(word.text) > 1 and any(c.isalnum() for c in word.text)
    )
    return heights[len(heights) // 2] if heights else 0


def _text(words: list[_Word]) -> str:
    lines: dict[int, list[str]] = {}
    for word in words:
        if _kept(word):
            lines.setdefault(word.line, []).append(word.text)
    return "\n".join(" ".join(line) for line in lines.values())


_engines: dict[tuple[Path, str], _Engine] = {}
_engines_lock = threading.Lock()


def _engine(settings: OcrSettings) -> _Engine:
    key = (settings.tessdata_dir, settings.languages)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = _Engine(*key)
        return _engines[key]
