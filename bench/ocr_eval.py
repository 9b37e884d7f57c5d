"""OCR of slide pictures: word recall per kind of picture, precision, and milliseconds per picture.

    .venv/bin/python -m bench.ocr_eval [--per-language N] [--thresholds 40,50,60,70,80]
                                       [--without invert,upscale,light_ink_ground] [--json PATH]
    .venv/bin/python -m bench.ocr_eval --corpus   # the real-world decks: cost and words added

Pictures with known words (tests/support/pictures.py: 15 kinds, English, French and German) are
put on the slides of one deck per kind and read by the project's own extraction
(`extract_deck(..., ocr=...)`, no cache). Recall: the share of a picture's words found in its
slide's text read from pictures (case-folded, accents kept). Precision: the share of the words
read that are on the picture; slides with a photo without any text count there too. Milliseconds
per picture: OCR seconds over the distinct pictures read.

`--thresholds` runs it again for each minimum word confidence (how MIN_CONFIDENCE was chosen);
`--without` turns off pre-processing steps, to see what each one gives. `--corpus` extracts every
deck of ../shared/corpus/real that has pictures, OCR on (no cache), and prints per deck the
pictures read and skipped, the words added, and the OCR seconds: no ground truth there, a check
of real-world cost and of what the words look like (`--show-words`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory

from osmose_dagster.core.extract import extract_deck
from osmose_dagster.core.extract import ocr as ocr_module
from osmose_dagster.core.extract import pictures as pictures_module
from osmose_dagster.core.settings import OcrSettings
from tests.support.pictures import (
    EXTRA_WORDS,
    KINDS,
    LANGUAGES,
    PictureSlide,
    photo_without_text,
    sentence_lines,
    words_of,
    write_picture_deck,
)

PHOTOS = "photo_without_text"
TARGETS = {"dark_on_light_24px": 0.95, "dark_on_light_18px": 0.95, "jpeg_q50": 0.95}


def evaluate(per_language: int, folder: Path, settings: OcrSettings, seed: int = 0) -> dict:
    rows = {}
    false_words: Counter[str] = Counter()
    read_words = 0
    for kind, render in [*KINDS.items(), (PHOTOS, None)]:
        slides, truths = [], []
        for language in LANGUAGES:
            for n in range(per_language):
                index = len(slides)
                if render is None:
                    blob, lines = photo_without_text(index + 1000 * seed), []
                else:
                    lines = sentence_lines(language, index + 100 * len(rows) + 10_000 * seed)
                    blob = render(lines, n + seed)
                slides.append(PictureSlide(f"{kind} {language} {n}", [blob]))
                truths.append((language, words_of(" ".join(lines))))
        deck = write_picture_deck(folder / f"{kind}.pptx", slides)
        started = time.perf_counter()
        extraction = extract_deck(deck, ocr=settings)
        wall = time.perf_counter() - started
        stats = extraction.ocr
        assert stats is not None
        found = total = wrong = 0
        by_language: Counter[str] = Counter()
        by_language_total: Counter[str] = Counter()
        for slide, (language, truth) in zip(extraction.slides, truths):
            read = words_of(" ".join(slide.pictures))
            allowed = set(truth) | {w.casefold() for w in EXTRA_WORDS.get(kind, ())}
            hits = sum(1 for word in truth if word in read)
            found, total = found + hits, total + len(truth)
            by_language[language] += hits
            by_language_total[language] += len(truth)
            read_words += len(read)
            mistaken = [word for word in read if word not in allowed]
            false_words.update(mistaken)
            wrong += len(mistaken)
        rows[kind] = {
            "pictures": len(slides),
            "recall": found / total if total else None,
            "recall_by_language": {
                lang: by_language[lang] / by_language_total[lang]
                for lang in LANGUAGES
                if by_language_total[lang]
            },
            "false_words": wrong,
            "ms_per_picture": 1000 * stats.seconds / max(1, stats.read),
            "skipped": dict(stats.skipped),
            "extract_seconds": wall,
        }
    kinds = [kind for kind in KINDS]
    overall = sum(rows[k]["recall"] * rows[k]["pictures"] for k in kinds) / sum(
        rows[k]["pictures"] for k in kinds
    )
    pictures = sum(row["pictures"] for row in rows.values())
    return {
        "rows": rows,
        "recall_all_kinds": overall,
        "precision": 1 - sum(false_words.values()) / read_words if read_words else 1.0,
        "words_read": read_words,
        "false_words": dict(false_words.most_common(15)),
        "ms_per_picture": sum(r["ms_per_picture"] * r["pictures"] for r in rows.values())
        / pictures,
        "min_confidence": ocr_module.MIN_CONFIDENCE,
    }


def print_table(result: dict, per_language: int) -> None:
    print(
        f"OCR eval: {len(KINDS)} kinds of picture + photos without text, {per_language} picture(s) "
        f"per kind and language ({', '.join(LANGUAGES)}), languages "
        f"{OcrSettings().languages}, min confidence {result['min_confidence']:g}"
    )
    print()
    print("| kind | pictures | recall | eng | fra | deu | false words | ms/picture |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, row in result["rows"].items():
        recall = "—" if row["recall"] is None else f"{row['recall']:.3f}"
        langs = [
            f"{row['recall_by_language'][lang]:.2f}" if lang in row["recall_by_language"] else "—"
            for lang in LANGUAGES
        ]
        target = TARGETS.get(kind)
        if target is not None and row["recall"] is not None:
            recall += " ✓" if row["recall"] >= target else f" ✗ (<{target})"
        print(
            f"| {kind} | {row['pictures']} | {recall} | {' | '.join(langs)} | "
            f"{row['false_words']} | {row['ms_per_picture']:.0f} |"
        )
    print()
    print(
        f"recall over all kinds {result['recall_all_kinds']:.3f} (target 0.85); precision "
        f"{result['precision']:.3f} of {result['words_read']} words read (target 0.90); "
        f"{result['ms_per_picture']:.0f} ms per picture"
    )
    if result["false_words"]:
        print("most frequent words not on their picture:", result["false_words"])


def corpus(show_words: bool) -> int:
    import zipfile

    from osmose_dagster.core.errors import DeckError
    from tests.support.paths import CORPUS

    settings = OcrSettings(cache_dir=None)
    totals: Counter[str] = Counter()
    seconds = 0.0
    print("| deck | pictures read | repeated | skipped (by reason) | words added | OCR s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in sorted(CORPUS.glob("*.pp*")):
        try:
            with zipfile.ZipFile(path) as archive:
                if not any(name.startswith("ppt/media/") for name in archive.namelist()):
                    continue
        except (zipfile.BadZipFile, OSError):
            continue
        try:
            extraction = extract_deck(path, ocr=settings)
        except DeckError as error:
            print(f"| {path.name} | failed: {error} | | | | |")
            continue
        stats = extraction.ocr
        assert stats is not None
        if not (stats.read or stats.skipped):
            continue
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(stats.skipped.items()))
        print(
            f"| {path.name[:60]} | {stats.read} | {stats.repeats} | {skipped or '0'} | "
            f"{stats.words} | {stats.seconds:.2f} |"
        )
        totals.update({"read": stats.read, "repeats": stats.repeats, "words": stats.words})
        totals.update({f"skipped {reason}": n for reason, n in stats.skipped.items()})
        seconds += stats.seconds
        if show_words:
            for slide in extraction.slides:
                for text in slide.pictures:
                    print(f"    slide {slide.number}: {' '.join(text.split())[:300]}")
    print()
    print(
        f"corpus: {totals['read']} distinct pictures read ({totals['repeats']} repeats not read "
        f"again), {totals['words']} words added, {seconds:.1f} s of OCR "
        f"({1000 * seconds / max(1, totals['read']):.0f} ms per picture); skipped: "
        + ", ".join(f"{n} {k[8:]}" for k, n in sorted(totals.items()) if k.startswith("skipped"))
    )
    return 0


def _without(steps: set[str]) -> None:
    """Turn pre-processing steps off, for measuring what each gives."""
    if "invert" in steps:
        pictures_module.dark_on_light = lambda gray: gray  # type: ignore[assignment]
    if "upscale" in steps:
        ocr_module.SMALL_TEXT_PX = 0
    if "light_ink_ground" in steps:
        original = pictures_module._flattened

        def on_white(rgba):
            ground = pictures_module.Image.new("RGB", rgba.size, (255, 255, 255))
            ground.paste(rgba, mask=rgba.getchannel("A"))
            return ground.convert("L")

        pictures_module._flattened = on_white  # type: ignore[assignment]
        del original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--per-language", type=int, default=2, help="pictures per kind and language"
    )
    parser.add_argument(
        "--thresholds", default="", help="min confidences to compare, e.g. 40,60,80"
    )
    parser.add_argument("--without", default="", help="invert,upscale,light_ink_ground")
    parser.add_argument("--json", type=Path, help="write the results there")
    parser.add_argument(
        "--seed", type=int, default=0, help="other words and fonts: a held-out set (default 0)"
    )
    parser.add_argument("--corpus", action="store_true", help="the real-world decks instead")
    parser.add_argument("--show-words", action="store_true", help="with --corpus: the words read")
    args = parser.parse_args(argv)
    if args.corpus:
        return corpus(args.show_words)
    _without({step for step in args.without.split(",") if step})
    settings = OcrSettings(cache_dir=None)
    results = []
    with TemporaryDirectory(prefix="osmose-ocr-eval-") as folder:
        thresholds = [float(t) for t in args.thresholds.split(",") if t] or [
            ocr_module.MIN_CONFIDENCE
        ]
        for threshold in thresholds:
            ocr_module.MIN_CONFIDENCE = threshold
            result = evaluate(args.per_language, Path(folder), settings, args.seed)
            results.append(result)
            print_table(result, args.per_language)
            print()
    if len(results) > 1:
        print("| min confidence | recall (all kinds) | precision | words read |")
        print("| --- | --- | --- | --- |")
        for result in results:
            print(
                f"| {result['min_confidence']:g} | {result['recall_all_kinds']:.3f} | "
                f"{result['precision']:.3f} | {result['words_read']} |"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
