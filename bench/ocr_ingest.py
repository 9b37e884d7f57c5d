"""What OCR adds to an ingest: a 230-slide deck without pictures, OCR on vs off (must not differ),
and a deck of 40 slides with 40 distinct pictures (first ingest, and again from the cache).

    .venv/bin/python -m bench.ocr_ingest [--repeats 5] [--folder DIR]

Each ingest is the project's own work on the CPU, in this process, without Dagster or Qdrant:
extraction (`extract_deck` with the OCR settings), slide vectors and segments
(`segment_decks`), chunk vectors (`embed_chunks`); the model is loaded once before timing and
its cache of recent vectors emptied before every ingest. Configurations run in turn (A B C A B C
...) so that a drift of the machine's speed falls on all of them; medians are printed. The cost
per distinct picture is (first ingest with OCR - ingest without OCR) / 40.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.workloads import write_workload
from osmose_dagster.core.extract import extract_deck
from osmose_dagster.core.model import EncodeStats, embed_chunks, segment_decks
from osmose_dagster.core.model.embed import forget_recent_vectors, load_embedder
from osmose_dagster.core.records import ExtractedDeck
from osmose_dagster.core.settings import DEFAULT_MODEL, DEFAULT_SEGMENT_PENALTY, OcrSettings
from tests.support.pictures import (
    KINDS,
    LANGUAGES,
    PictureSlide,
    sentence_lines,
    write_picture_deck,
)

PICTURES = 40


def picture_deck(path: Path) -> Path:
    """40 slides, each with a title, a line of body text and its own picture (the kinds of
    tests/support/pictures.py in turn, three languages)."""
    kinds = list(KINDS.values())
    slides = []
    for n in range(PICTURES):
        language = LANGUAGES[n % len(LANGUAGES)]
        lines = sentence_lines(language, 1000 + n)
        slides.append(
            PictureSlide(
                f"Slide {n + 1}: {lines[0].split()[0]}",
                [kinds[n % len(kinds)](lines, n)],
                body=f"Figures of week {n + 1}",
            )
        )
    return write_picture_deck(path, slides)


def ingest(deck: Path, ocr: OcrSettings | None, embedder) -> dict:
    forget_recent_vectors()
    cpu = time.process_time()
    started = time.perf_counter()
    extraction = extract_deck(deck, ocr=ocr)
    extracted = time.perf_counter()
    decks = {deck.name: ExtractedDeck(deck.name, deck.name, "-", extraction.slides)}
    segmented = segment_decks(decks, embedder, penalty=DEFAULT_SEGMENT_PENALTY)
    embed_chunks(segmented, embedder, EncodeStats())
    done = time.perf_counter()
    stats = extraction.ocr
    return {
        "total_s": done - started,
        "cpu_s": time.process_time() - cpu,
        "extract_s": extracted - started,
        "ocr_s": stats.seconds if stats else 0.0,
        "read": stats.read if stats else 0,
        "from_cache": stats.from_cache if stats else 0,
        "words": stats.words if stats else 0,
        "characters": sum(len(slide.text) for slide in extraction.slides),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--folder", type=Path, help="where to write the decks (default: temporary)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="osmose-ocr-ingest-") as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        (big,) = write_workload("big", folder / "big")
        pictured = picture_deck(folder / "forty_pictures.pptx")
        embedder = load_embedder(DEFAULT_MODEL, "cpu")
        cache = Path(scratch) / "ocr-cache"
        configurations = {
            "230 slides, no pictures: OCR off": (big, lambda: OcrSettings(enabled=False)),
            "230 slides, no pictures: OCR on": (big, lambda: OcrSettings(cache_dir=cache)),
            "40 distinct pictures: OCR off": (pictured, lambda: OcrSettings(enabled=False)),
            "40 distinct pictures: OCR on, first ingest": (
                pictured,
                lambda: OcrSettings(cache_dir=Path(tempfile.mkdtemp(dir=scratch))),
            ),
            "40 distinct pictures: OCR on, again (cache)": (
                pictured,
                lambda: OcrSettings(cache_dir=cache),
            ),
        }
        ingest(big, None, embedder)  # warm-up: first-call costs of torch, python-pptx, Tesseract
        ingest(pictured, OcrSettings(cache_dir=cache), embedder)
        results: dict[str, list[dict]] = {name: [] for name in configurations}
        for _ in range(args.repeats):
            for name, (deck, settings) in configurations.items():
                results[name].append(ingest(deck, settings(), embedder))
    print(f"OCR in an ingest (extract + segment + embed, CPU, {args.repeats} runs each, medians)")
    print()
    print(
        "| deck | ingest s (min–max) | CPU s | extraction s | OCR s | pictures read | "
        "from cache | words read |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    medians = {}
    for name, runs in results.items():
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        medians[name] = med
        spread = f" ({min(r['total_s'] for r in runs):.2f}–{max(r['total_s'] for r in runs):.2f})"
        print(
            f"| {name} | {med['total_s']:.2f}{spread} | {med['cpu_s']:.2f} | {med['extract_s']:.3f} | "
            f"{med['ocr_s']:.2f} | {med['read']:.0f} | {med['from_cache']:.0f} | {med['words']:.0f} |"
        )
    off, on = (medians[f"230 slides, no pictures: OCR {s}"] for s in ("off", "on"))
    first = medians["40 distinct pictures: OCR on, first ingest"]
    plain = medians["40 distinct pictures: OCR off"]
    print()
    print(
        f"230-slide deck without pictures, OCR on / off: ingest {on['total_s'] / off['total_s']:.3f}, "
        f"CPU {on['cpu_s'] / off['cpu_s']:.3f}, extraction {on['extract_s'] / off['extract_s']:.3f}"
    )
    cached = medians["40 distinct pictures: OCR on, again (cache)"]
    print(
        f"cost per distinct picture: {1000 * (first['total_s'] - plain['total_s']) / PICTURES:.0f} ms "
        f"of ingest ({1000 * first['ocr_s'] / PICTURES:.0f} ms of it in OCR, the rest embedding "
        f"the words read); from the cache: {1000 * (cached['total_s'] - plain['total_s']) / PICTURES:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
