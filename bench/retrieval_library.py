"""The library evaluation of bench/retrieval_eval.py (its docstring says what is measured).

Segmented decks and chunk vectors are cached under --work/retrieval-library (keyed by the
deck's bytes), so a second run only indexes and searches.
"""

from __future__ import annotations

import hashlib
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
DECK_SUFFIXES = {".pptx", ".pptm", ".potx", ".ppsx"}
MODES = ("dense", "sparse", "hybrid")
SEED = 13


def evaluate_library(args, judged) -> int:
    from bench.workloads import write_workload
    from osmose_dagster.cli.samples import write_sample_decks
    from osmose_dagster.core.index.store import DocumentPoints, IndexLocation, open_index
    from osmose_dagster.core.model.embed import load_embedder

    started = time.perf_counter()
    samples = list(write_sample_decks(Path(tempfile.mkdtemp(prefix="retrieval-samples-"))))
    written = [
        *write_workload("big", args.work / "workloads" / "big"),
        *write_workload("many", args.work / "workloads" / "many"),
    ]
    corpus = sorted(p for p in CORPUS.iterdir() if p.suffix.lower() in DECK_SUFFIXES)
    embedder = load_embedder("all-MiniLM-L6-v2", args.device)
    cache = args.work / "retrieval-library"
    ocr = _ocr_settings(args.work) if getattr(args, "ocr", False) else None
    # The queries come from the decks' own text (never from a picture's), so that the library
    # with and without OCR is searched with the same queries.
    plain, failed = _library([*samples, *written, *corpus], embedder, cache, None)
    library, _ = (
        (plain, failed)
        if ocr is None
        else _library([*samples, *written, *corpus], embedder, cache, ocr)
    )
    if ocr is not None:
        added = sum(len(c) for c, _ in library.values()) - sum(len(c) for c, _ in plain.values())
        print(f"OCR on ({ocr.describe()}): {added:+d} chunks against the library without it")
    unwritten = {Path(p).name for p in [*written, *corpus]} & set(plain)
    chunks = sum(len(c) for c, _ in library.values())
    print(
        f"library: {len(library)} decks ({len(unwritten)} nobody wrote the search for: "
        f"{len({p.name for p in corpus} & set(library))} of the real corpus, "
        f"{len({Path(p).name for p in written})} generated; 4 samples), {chunks} chunks; "
        f"{failed} corpus files without text or unreadable; prepared in "
        f"{time.perf_counter() - started:.0f}s"
    )

    location = IndexLocation(
        collection="retrieval_eval",
        path=Path(tempfile.mkdtemp(prefix="retrieval-index-")) / "qdrant",
    )
    with open_index(location) as index:
        t0 = time.perf_counter()
        index.replace_documents(
            [DocumentPoints(name, name, c, v) for name, (c, v) in library.items()],
            "all-MiniLM-L6-v2",
        )
        print(f"indexed {index.count()} points in {time.perf_counter() - t0:.1f}s")

    rng = random.Random(SEED)
    sets = {
        "judged": [(q, deck, slide) for deck, slide, q in judged],
        "line": line_queries(plain, sorted(unwritten), args.lines, rng),
        "rare2": rare_word_queries(plain, sorted(unwritten), args.rare, rng),
    }
    print(f"{'set':8} {'mode':7} {'queries':>7} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7}")
    all_queries = [q for queries in sets.values() for q, _, _ in queries]
    vectors = dict(zip(all_queries, embedder.embed_queries(all_queries)))
    known_ranks: dict[str, list] = {mode: [] for mode in MODES}
    timings: list[float] = []
    with open_index(location) as index:
        for label, queries in sets.items():
            for mode in MODES:
                ranks = []
                for query, deck, slide in queries:
                    t0 = time.perf_counter()
                    hits = index.search(vectors[query], 10, query, mode=mode)
                    timings.append(time.perf_counter() - t0)
                    ranks.append(rank_of(hits, deck, slide))
                if label != "judged":
                    known_ranks[mode] += ranks
                print(_row(label, mode, ranks))
    for mode in MODES:
        print(_row("known", mode, known_ranks[mode]))
    print(
        f"\n{len(timings)} searches: median {np.median(timings) * 1000:.1f} ms, "
        f"p95 {np.percentile(timings, 95) * 1000:.1f} ms"
    )
    dense_check(library, sets, vectors, location)
    return 0


def _row(label: str, mode: str, ranks: list) -> str:
    hit1 = sum(r == 1 for r in ranks) / len(ranks)
    hit3 = sum(r is not None and r <= 3 for r in ranks) / len(ranks)
    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / len(ranks)
    return f"{label:8} {mode:7} {len(ranks):7d} {hit1:6.3f} {hit3:6.3f} {mrr:7.3f}"


def rank_of(hits, deck: str, slide: int | None) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if hit.document == deck and (slide is None or hit.first_slide <= slide <= hit.last_slide):
            return rank
    return None


def dense_check(library, sets, vectors, location) -> None:
    """The dense mode ranks as the code before hybrid search did (qdrant-client local mode:
    exact cosine over every chunk): the same first hit as numpy's exact cosine."""
    from osmose_dagster.core.index.store import open_index

    names = [(name, chunk) for name, (c, _) in library.items() for chunk in c]
    matrix = np.vstack([v for _, (_, v) in library.items()])
    same = total = 0
    with open_index(location) as index:
        for queries in sets.values():
            for query, _, _ in queries:
                top = index.search(vectors[query], 1, query, mode="dense")[0]
                name, chunk = names[int(np.argmax(matrix @ vectors[query]))]
                same += (top.document, top.first_slide) == (name, chunk.first_slide)
                total += 1
    print(f"dense mode = exact cosine (the code before hybrid search): {same}/{total} top hits")


def line_queries(library, decks: list[str], count: int, rng: random.Random):
    """A line of a deck (4-24 words) that occurs in no other deck."""
    owners: dict[str, set[str]] = {}
    for name, (chunks, _) in library.items():
        for chunk in chunks:
            for line in chunk.text.splitlines():
                owners.setdefault(_norm(line), set()).add(name)
    candidates = []
    for name in decks:
        lines = {
            line.strip()
            for chunk in library[name][0]
            for line in chunk.text.splitlines()
            if 4 <= len(line.split()) <= 24 and owners.get(_norm(line)) == {name}
        }
        candidates += [(line, name) for line in sorted(lines)]
    return _spread(candidates, count, rng)


def rare_word_queries(library, decks: list[str], count: int, rng: random.Random):
    """Two words of a deck (letters, 4+ characters) that no other deck has."""
    from osmose_dagster.core.index.bm25 import tokenize

    words_of = {
        name: {w for c in chunks for w in tokenize(c.text) if len(w) >= 4 and w.isalpha()}
        for name, (chunks, _) in library.items()
    }
    decks_with = Counter(w for words in words_of.values() for w in words)
    candidates = []
    for name in decks:
        rare = sorted(w for w in words_of[name] if decks_with[w] == 1)
        if len(rare) >= 2:
            for _ in range(3):
                candidates.append((" ".join(rng.sample(rare, 2)), name))
    return _spread(candidates, count, rng)


def _spread(candidates, count: int, rng: random.Random):
    """`count` queries, as evenly over the decks as they allow (no deck dominates)."""
    by_deck: dict[str, list[str]] = {}
    for query, deck in candidates:
        by_deck.setdefault(deck, []).append(query)
    for queries in by_deck.values():
        rng.shuffle(queries)
    picked: list[tuple[str, str, None]] = []
    while len(picked) < count and any(by_deck.values()):
        for deck in sorted(by_deck):
            if by_deck[deck] and len(picked) < count:
                picked.append((by_deck[deck].pop(), deck, None))
    return picked


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().casefold()


def _library(paths, embedder, cache: Path, ocr) -> tuple[dict[str, tuple[list, np.ndarray]], int]:
    """Each readable deck's (chunks, chunk vectors), and how many decks had none."""
    library: dict[str, tuple[list, np.ndarray]] = {}
    failed = 0
    for path in paths:
        loaded = _segmented(path, embedder, cache, ocr)
        if loaded is None or not loaded[0]:
            failed += 1
            continue
        library[Path(path).name] = loaded
    return library, failed


def _ocr_settings(work: Path):
    """OCR as ingestion does it (OSMOSE_OCR_* from the environment), cached under --work."""
    import os

    from osmose_dagster.core.settings import OcrSettings

    return OcrSettings.from_env({**os.environ, "OSMOSE_OCR": "on"}, work / "ocr-home")


def _segmented(path, embedder, cache: Path, ocr=None):
    """(chunks, chunk vectors) of a deck, as the project computes them; None if unreadable."""
    from pydantic import TypeAdapter

    from osmose_dagster.core.errors import OsmoseError
    from osmose_dagster.core.extract.deck import extract_slides
    from osmose_dagster.core.model.pipeline import embed_chunks, segment_decks
    from osmose_dagster.core.records import ExtractedDeck, SegmentedDeck
    from osmose_dagster.core.settings import DEFAULT_SEGMENT_PENALTY

    path = Path(path)
    key = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    stem = cache / f"{path.name}.{key}{'.ocr' if ocr else ''}"
    if (stem.with_suffix(".none")).exists():
        return None
    if stem.with_suffix(".json").exists():
        deck = TypeAdapter(SegmentedDeck).validate_json(stem.with_suffix(".json").read_bytes())
        return list(deck.chunks), np.load(stem.with_suffix(".npy"))
    cache.mkdir(parents=True, exist_ok=True)
    try:
        slides = extract_slides(path, ocr=ocr)
    except (OsmoseError, Exception):
        stem.with_suffix(".none").write_text("unreadable")
        return None
    if not any(slide.text.strip() for slide in slides):
        stem.with_suffix(".none").write_text("no text")
        return None
    deck = ExtractedDeck(path.name, path.name, key, slides)
    segmented = segment_decks({path.name: deck}, embedder, penalty=DEFAULT_SEGMENT_PENALTY)
    from osmose_dagster.core.model.embed import EncodeStats

    vectors = embed_chunks(segmented, embedder, EncodeStats())[path.name]
    stem.with_suffix(".json").write_bytes(
        TypeAdapter(SegmentedDeck).dump_json(segmented[path.name])
    )
    np.save(stem.with_suffix(".npy"), vectors)
    return list(segmented[path.name].chunks), vectors
