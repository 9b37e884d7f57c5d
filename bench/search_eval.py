"""Search quality on every kind of query people type (issue 22, deliverable 1).

    .venv/bin/python -m bench.search_eval [--work DIR] [--json FILE] [--dump FILE] [--rebuild]

The library: 14 decks written for this eval (bench/search_eval_decks.py: an all-hands, an SRE
review, a launch plan, an ML platform review, a compliance briefing, an office move, support
operations, a sales kickoff, a data platform migration, a board update, a security incident
review, a plant review, people policies, budget planning; 10-14 slides and 3-5 topics each, some
themes shared between decks), written with python-pptx into --work at run time, plus distractors
that make BM25's document frequencies realistic: the 4 sample decks
(osmose_dagster's `write_sample_decks`), the 230-slide deck and the first 12 decks of the `many`
workload (bench/workloads.py), which repeat the same themes (finance, support, security, GPUs).

Indexed with the project's own code, as ingestion does: extraction, segmentation and pooled
chunk vectors (`segment_decks`, `embed_chunks`), `VectorIndex.replace_documents` into a Qdrant
Edge store under --work (kept, and rebuilt when a deck, the model, the segmentation penalty or
the pipeline version changes), searched with `VectorIndex.search` in its modes `hybrid` (the
project's ranking, core/index/ranking.py), `dense` and `sparse` (BM25
alone, "bm25" below). `plain` is the baseline a user could write: one point per slide (the text
bench/plain_script.py reads with python-pptx: title, text, tables, notes), encoded by the same
packaged all-MiniLM-L6-v2 with sentence-transformers, exact cosine top-k in numpy.

Queries, three kinds:
  question     questions in people's own words (search_eval_decks.QUESTIONS), judged by the
               slides that answer them. A question sharing a rare token (one in at most
               RARE_SLIDES slides of the library) with an answer slide is reported. Split in two
               halves, `tune` and `held_out` (deck by deck, alternately in the order of
               the questions' sha256), so that a ranking tuned on one half is checked on the other.
  copied_line  a line of an eval deck (4-24 words, found in no other deck), drawn with a fixed
               seed; answered by a slide of that deck holding the line.
  rare_name    one or two words (letters, 4+) found in one eval deck only, drawn with a fixed
               seed, plus the hand-written names of search_eval_decks.RARE_NAMES; answered by any
               result from that deck.
A result of the project is a chunk (document, first_slide, last_slide): it answers a question if
its document is a judged deck and its slide range holds a judged slide. A plain result is one
slide. Prints hit@1, hit@5 and MRR@10 per kind and ranking as one markdown table.

--json FILE writes the figures. --dump FILE writes, per query, one JSON line with its judgement
and the candidate lists with raw scores: the dense top 100 (cosine), the BM25 top 100 (BM25
score), the hybrid top 10 and the plain top 100, for tuning a fusion offline; `score()` below
scores any ranked list of (document, first_slide, last_slide) against a judgement.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import shutil
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench.plain_script import slide_texts as plain_slide_texts
from bench.search_eval_decks import DECKS, QUESTIONS, RARE_NAMES
from bench.workloads import add_bullet_slide, write_workload

MODEL = "all-MiniLM-L6-v2"
SEED = 22
COPIED_PER_DECK = 8
RARE_SINGLE_PER_DECK = 3
RARE_PAIR_PER_DECK = 3
RARE_SLIDES = 5  # a token in at most this many slides of the library is rare
MANY_DECKS = 12  # decks of the `many` workload among the distractors
CANDIDATES = 100  # depth of the dense, BM25 and plain lists (scores and --dump)
RESULTS = 10  # results the hybrid search returns (MRR@10)
RANKINGS = ("hybrid", "dense", "bm25", "plain")
KINDS = ("question tune", "question held_out", "question all", "copied_line", "rare_name")
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def project() -> SimpleNamespace:
    """Everything this eval takes from the project, in one place (its modules are moving)."""
    from osmose_dagster.cli.samples import write_sample_decks
    from osmose_dagster.core.extract import extract_deck
    from osmose_dagster.core.index import DocumentPoints, IndexLocation, open_index
    from osmose_dagster.core.index.bm25 import tokenize
    from osmose_dagster.core.model import (
        PIPELINE_VERSION,
        EncodeStats,
        embed_chunks,
        load_embedder,
        segment_decks,
    )
    from osmose_dagster.core.model.embed import resolve_model_path
    from osmose_dagster.core.records import ExtractedDeck
    from osmose_dagster.core.settings import Settings

    return SimpleNamespace(
        write_sample_decks=write_sample_decks,
        extract_deck=extract_deck,
        DocumentPoints=DocumentPoints,
        IndexLocation=IndexLocation,
        open_index=open_index,
        tokenize=tokenize,
        PIPELINE_VERSION=PIPELINE_VERSION,
        EncodeStats=EncodeStats,
        embed_chunks=embed_chunks,
        load_embedder=load_embedder,
        segment_decks=segment_decks,
        resolve_model_path=resolve_model_path,
        ExtractedDeck=ExtractedDeck,
        Settings=Settings,
    )


# --------------------------------------------------------------------------- judgements, scoring


@dataclass(frozen=True)
class Judgement:
    """What answers a query: any of `slides` ((document, slide number)), or, when `slides` is
    empty, any result from one of `documents`."""

    slides: frozenset[tuple[str, int]] = frozenset()
    documents: frozenset[str] = frozenset()

    def answers(self, document: str, first_slide: int, last_slide: int) -> bool:
        if not self.slides:
            return document in self.documents
        return any(d == document and first_slide <= s <= last_slide for d, s in self.slides)

    def as_json(self) -> dict:
        if self.slides:
            return {"slides": sorted([d, s] for d, s in self.slides)}
        return {"documents": sorted(self.documents)}


@dataclass(frozen=True)
class Query:
    id: str
    kind: str  # question, copied_line, rare_name
    text: str
    judgement: Judgement
    split: str = ""  # questions: tune or held_out


def score(ranked, judgement: Judgement) -> tuple[bool, bool, float]:
    """(hit@1, hit@5, reciprocal rank within 10) of a ranked list of (document, first_slide,
    last_slide) against a judgement."""
    for rank, (document, first, last) in enumerate(ranked[:10], start=1):
        if judgement.answers(document, first, last):
            return rank == 1, rank <= 5, 1.0 / rank
    return False, False, 0.0


# --------------------------------------------------------------------------- decks


def deck_file(key: str) -> str:
    return f"{key}.pptx"


def deck_bytes(title: str, subtitle: str, slides) -> bytes:
    """A deck of DECKS as .pptx bytes, identical on every call."""
    import datetime as dt

    from pptx import Presentation

    prs = Presentation()
    cover = prs.slides.add_slide(prs.slide_layouts[0])
    cover.shapes.title.text = title
    cover.placeholders[1].text = subtitle
    for slide_title, bullets, notes in slides:
        add_bullet_slide(prs, slide_title, bullets, notes)
    props = prs.core_properties
    props.title = title
    props.author = props.last_modified_by = "bench/search_eval.py"
    props.revision = 1
    props.created = props.modified = props.last_printed = dt.datetime(2024, 1, 1)
    buffer = io.BytesIO()
    prs.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(entry.filename))
    return out.getvalue()


def write_library(P, work: Path) -> tuple[list[Path], list[Path]]:
    """(eval deck paths, distractor paths), written under `work`."""
    folder = work / "decks"
    folder.mkdir(parents=True, exist_ok=True)
    own = []
    for key, (title, subtitle, slides) in DECKS.items():
        path = folder / deck_file(key)
        data = deck_bytes(title, subtitle, slides)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
        own.append(path)
    distractors = [
        *P.write_sample_decks(work / "samples"),
        *write_workload("big", work / "workloads" / "big"),
        *write_workload("many", work / "workloads" / "many")[:MANY_DECKS],
    ]
    return own, [Path(p) for p in distractors]


# --------------------------------------------------------------------------- the index


def build_or_load(P, paths: list[Path], work: Path, rebuild: bool):
    """(cache folder, {document: [(slide number, text)]}, plain slides, plain vectors), the
    Qdrant Edge store inside the cache folder built by the project's code if not already."""
    settings = P.Settings.from_env()
    key_source = {
        "model": MODEL,
        "pipeline": P.PIPELINE_VERSION,
        "penalty": settings.segment_penalty,
        "decks": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths},
    }
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()[:16]
    cache = work / "index" / key
    done = cache / "built.json"
    if rebuild and cache.exists():
        shutil.rmtree(cache)
    if done.is_file():
        slides = json.loads((cache / "slides.json").read_text())
        plain = json.loads((cache / "plain.json").read_text())
        return cache, slides, [tuple(p) for p in plain], np.load(cache / "plain.npy"), True
    if cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True)

    started = time.perf_counter()
    extracted = {}
    for path in paths:
        deck = P.extract_deck(path)
        sha = key_source["decks"][path.name]
        extracted[path.name] = P.ExtractedDeck(path.name, path.name, sha, deck.slides)
    embedder = P.load_embedder(MODEL, "cpu")
    stats = P.EncodeStats()
    segmented = P.segment_decks(extracted, embedder, penalty=settings.segment_penalty, stats=stats)
    vectors = P.embed_chunks(segmented, embedder, stats)
    with P.open_index(location(P, cache)) as index:
        index.replace_documents(
            [
                P.DocumentPoints(name, name, deck.chunks, vectors[name])
                for name, deck in segmented.items()
            ],
            MODEL,
        )
        points = index.count()
    project_s = time.perf_counter() - started

    started = time.perf_counter()
    plain = [
        (path.name, number, text)
        for path in paths
        for number, text in enumerate(plain_slide_texts(path), start=1)
        if text.strip()
    ]
    plain_vectors = plain_model(P).encode(
        [text for _, _, text in plain], batch_size=64, normalize_embeddings=True
    )
    np.save(cache / "plain.npy", plain_vectors)
    plain_s = time.perf_counter() - started

    slides = {name: [(s.number, s.text) for s in deck.slides] for name, deck in extracted.items()}
    (cache / "slides.json").write_text(json.dumps(slides))
    (cache / "plain.json").write_text(json.dumps(plain))
    done.write_text(
        json.dumps(
            {
                **key_source,
                "points": points,
                "project_s": round(project_s, 1),
                "plain_s": round(plain_s, 1),
            },
            indent=1,
        )
    )
    return cache, slides, plain, plain_vectors, False


def location(P, cache: Path):
    return P.IndexLocation(
        collection="search_eval",
        path=cache / "qdrant",
    )


_PLAIN_MODEL = []


def plain_model(P):
    """The packaged MiniLM loaded with sentence-transformers alone (never downloaded)."""
    if not _PLAIN_MODEL:
        from sentence_transformers import SentenceTransformer

        _PLAIN_MODEL.append(
            SentenceTransformer(P.resolve_model_path(MODEL), device="cpu", local_files_only=True)
        )
    return _PLAIN_MODEL[0]


# --------------------------------------------------------------------------- queries


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().casefold()


def question_queries(slides: dict) -> list[Query]:
    """QUESTIONS with their judged slides, split per deck into tune and held_out."""
    numbers = {}
    for key, (_, _, deck_slides) in DECKS.items():
        titles = [title for title, _, _ in deck_slides]
        for n, title in enumerate(titles, start=2):
            if titles.count(title) != 1:
                raise SystemExit(f"search_eval_decks: slide title {title!r} twice in {key}")
            numbers[(key, title)] = n
    by_deck: dict[str, list[tuple[str, Judgement]]] = {}
    for text, *answers in QUESTIONS:
        missing = [a for a in answers if tuple(a) not in numbers]
        if missing or not answers:
            raise SystemExit(f"search_eval_decks: {text!r} judged by unknown slides {missing}")
        judged = frozenset((deck_file(k), numbers[(k, t)]) for k, t in answers)
        by_deck.setdefault(answers[0][0], []).append((text, judged))
    queries = []
    for key in DECKS:
        ordered = sorted(
            by_deck.get(key, []), key=lambda q: hashlib.sha256(q[0].encode()).hexdigest()
        )
        for i, (text, judged) in enumerate(ordered):
            queries.append(
                Query(
                    id=f"question:{key}:{i:02d}",
                    kind="question",
                    text=text,
                    judgement=Judgement(slides=judged),
                    # alternate, continuing across decks: the halves differ by one at most
                    split="tune" if len(queries) % 2 == 0 else "held_out",
                )
            )
    return queries


def rare_token_check(P, questions: list[Query], slides: dict) -> list[str]:
    """Questions that share a rare token (in at most RARE_SLIDES slides of the library) with
    a slide that answers them: they would not be "in other words"."""
    slide_tokens = {
        (doc, number): set(P.tokenize(text))
        for doc, rows in slides.items()
        for number, text in rows
    }
    frequency = Counter(t for tokens in slide_tokens.values() for t in tokens)
    problems = []
    for q in questions:
        shared = sorted(
            {
                t
                for answer in q.judgement.slides
                for t in set(P.tokenize(q.text)) & slide_tokens[answer]
                if frequency[t] <= RARE_SLIDES
            }
        )
        if shared:
            problems.append(f"{q.id} {q.text!r} shares {', '.join(shared)} with its answer")
    return problems


def copied_line_queries(own: list[str], slides: dict, rng: random.Random) -> list[Query]:
    owners: dict[str, set[str]] = {}
    for doc, rows in slides.items():
        for _, text in rows:
            for line in text.splitlines():
                owners.setdefault(_norm(line), set()).add(doc)
    queries = []
    for doc in own:
        lines = sorted(
            {
                line.strip()
                for _, text in slides[doc]
                for line in text.splitlines()
                if 4 <= len(line.split()) <= 24 and owners[_norm(line)] == {doc}
            }
        )
        for i, line in enumerate(rng.sample(lines, min(COPIED_PER_DECK, len(lines)))):
            judged = frozenset(
                (doc, number)
                for number, text in slides[doc]
                if _norm(line) in {_norm(x) for x in text.splitlines()}
            )
            queries.append(
                Query(f"copied_line:{doc}:{i:02d}", "copied_line", line, Judgement(slides=judged))
            )
    return queries


def rare_name_queries(P, own: list[str], slides: dict, rng: random.Random) -> list[Query]:
    words_of = {
        doc: {t for _, text in rows for t in P.tokenize(text) if len(t) >= 4 and t.isalpha()}
        for doc, rows in slides.items()
    }
    decks_with = Counter(t for words in words_of.values() for t in words)
    queries = []
    for doc in own:
        rare = sorted(t for t in words_of[doc] if decks_with[t] == 1)
        picks = [rng.choice(rare) for _ in range(RARE_SINGLE_PER_DECK)]
        picks += [" ".join(rng.sample(rare, 2)) for _ in range(RARE_PAIR_PER_DECK)]
        for i, text in enumerate(dict.fromkeys(picks)):
            queries.append(
                Query(
                    f"rare_name:{doc}:{i:02d}",
                    "rare_name",
                    text,
                    Judgement(documents=frozenset({doc})),
                )
            )
    for i, (text, keys) in enumerate(RARE_NAMES):
        docs = frozenset(deck_file(k) for k in keys)
        queries.append(
            Query(f"rare_name:hand:{i:02d}", "rare_name", text, Judgement(documents=docs))
        )
    return queries


def rare_name_check(P, queries: list[Query], slides: dict) -> list[str]:
    """Hand-written rare names none of whose tokens is confined to the judged decks."""
    decks_of: dict[str, set[str]] = {}
    for doc, rows in slides.items():
        for _, text in rows:
            for t in P.tokenize(text):
                decks_of.setdefault(t, set()).add(doc)
    return [
        f"{q.id} {q.text!r}: no word found in {', '.join(sorted(q.judgement.documents))} only"
        for q in queries
        if q.id.startswith("rare_name:hand")
        and not any(
            decks_of.get(t) and decks_of[t] <= q.judgement.documents for t in P.tokenize(q.text)
        )
    ]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/osmose-search-eval"))
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--dump", type=Path, help="write candidate lists as JSON lines")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached index")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    P = project()

    own_paths, distractors = write_library(P, args.work)
    paths = [*own_paths, *distractors]
    cache, slides, plain, plain_vectors, reused = build_or_load(P, paths, args.work, args.rebuild)
    built = json.loads((cache / "built.json").read_text())
    print(
        f"library: {len(paths)} decks ({len(own_paths)} eval decks, {len(distractors)} "
        f"distractors), {sum(len(r) for r in slides.values())} slides "
        f"({sum(len(slides[p.name]) for p in own_paths)} in the eval decks), "
        f"{built['points']} points; plain: {len(plain)} slide points; index "
        f"{'reused from' if reused else 'built in'} {cache}"
        + ("" if reused else f" (project {built['project_s']}s, plain {built['plain_s']}s)")
    )

    own = [p.name for p in own_paths]
    rng = random.Random(SEED)
    questions = question_queries(slides)
    queries = [
        *questions,
        *copied_line_queries(own, slides, rng),
        *rare_name_queries(P, own, slides, rng),
    ]
    problems = rare_token_check(P, questions, slides) + rare_name_check(P, queries, slides)
    for problem in problems:
        print(f"CHECK: {problem}")
    counts = Counter(q.kind for q in queries)
    print(
        f"queries: {counts['question']} questions "
        f"({sum(q.split == 'tune' for q in questions)} tune, "
        f"{sum(q.split == 'held_out' for q in questions)} held out), "
        f"{counts['copied_line']} copied lines, {counts['rare_name']} rare names; "
        f"{len(problems)} check problems"
    )

    embedder = P.load_embedder(MODEL, "cpu")
    texts = [q.text for q in queries]
    vectors = embedder.embed_queries(texts)
    plain_queries = plain_model(P).encode(texts, batch_size=64, normalize_embeddings=True)
    loc = location(P, cache)
    ranked: dict[str, list] = {r: [] for r in RANKINGS}
    dump = args.dump.open("w") if args.dump else None
    timings = []
    with P.open_index(loc) as index:
        for q, vector, plain_vector in zip(queries, vectors, plain_queries):
            t0 = time.perf_counter()
            hybrid = index.search(vector, RESULTS, q.text, mode="hybrid")
            timings.append(time.perf_counter() - t0)
            dense = index.search(vector, CANDIDATES, q.text, mode="dense")
            bm25 = index.search(vector, CANDIDATES, q.text, mode="sparse")
            cosines = plain_vectors @ plain_vector
            top = np.argsort(-cosines, kind="stable")[:CANDIDATES]
            lists = {
                "hybrid": [(h.document, h.first_slide, h.last_slide) for h in hybrid],
                "dense": [(h.document, h.first_slide, h.last_slide) for h in dense],
                "bm25": [(h.document, h.first_slide, h.last_slide) for h in bm25],
                "plain": [(plain[i][0], plain[i][1], plain[i][1]) for i in top],
            }
            for name in RANKINGS:
                ranked[name].append(lists[name])
            if dump:
                dump.write(json.dumps(dump_row(q, hybrid, dense, bm25, plain, top, cosines)))
                dump.write("\n")
    if dump:
        dump.close()

    figures = {}
    for kind in KINDS:
        if kind.startswith("question "):
            split = kind.split()[1]
            chosen = [i for i, q in enumerate(queries) if q.kind == "question"]
            if split != "all":
                chosen = [i for i in chosen if queries[i].split == split]
        else:
            chosen = [i for i, q in enumerate(queries) if q.kind == kind]
        figures[kind] = {"queries": len(chosen)}
        for name in RANKINGS:
            scores = [score(ranked[name][i], queries[i].judgement) for i in chosen]
            figures[kind][name] = {
                "hit@1": round(sum(s[0] for s in scores) / len(scores), 3),
                "hit@5": round(sum(s[1] for s in scores) / len(scores), 3),
                "mrr@10": round(sum(s[2] for s in scores) / len(scores), 3),
            }

    print(f"\nhybrid search median {np.median(timings) * 1000:.1f} ms\n")
    print(table(figures))
    elapsed = time.perf_counter() - started
    print(f"\n{len(queries)} queries; {elapsed:.0f}s in all")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "figures": figures,
                    "library": {
                        "decks": len(paths),
                        "eval_decks": len(own_paths),
                        "slides": sum(len(r) for r in slides.values()),
                        "points": built["points"],
                    },
                    "check_problems": problems,
                    "seconds": round(elapsed, 1),
                },
                indent=1,
            )
        )
    return 0


def dump_row(q: Query, hybrid, dense, bm25, plain, top, cosines) -> dict:
    def chunks(hits):
        return [
            {
                "document": h.document,
                "first_slide": h.first_slide,
                "last_slide": h.last_slide,
                "score": round(h.score, 6),
            }
            for h in hits
        ]

    return {
        "id": q.id,
        "kind": q.kind,
        "split": q.split,
        "query": q.text,
        "judgement": q.judgement.as_json(),
        "dense": chunks(dense),
        "bm25": chunks(bm25),
        "hybrid": chunks(hybrid),
        "plain": [
            {"document": plain[i][0], "slide": plain[i][1], "score": round(float(cosines[i]), 6)}
            for i in top
        ],
    }


def table(figures: dict) -> str:
    lines = [
        "| kind | queries | ranking | hit@1 | hit@5 | MRR@10 |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for kind, row in figures.items():
        for name in RANKINGS:
            f = row[name]
            lines.append(
                f"| {kind} | {row['queries']} | {name} | {f['hit@1']:.3f} | {f['hit@5']:.3f} "
                f"| {f['mrr@10']:.3f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
