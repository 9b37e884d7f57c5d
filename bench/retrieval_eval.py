"""Search quality: dense, BM25 and fused retrieval over a library of 110 decks (default), or the
chunk vectors pooled against encoded whole (`--pooling`, the comparison made for issue 6).

    .venv/bin/python -m bench.retrieval_eval [--lines 120] [--rare 120] [--work /tmp/osmose-bench]
        [--ocr]
    .venv/bin/python -m bench.retrieval_eval --pooling [--device cpu] [--facts 150]

Default (`bench/retrieval_library.py` does the work): the library is every deck of the real corpus
(../shared/corpus/real) that extracts to some text, the 4 sample decks, the 230-slide deck and
the 50 decks of the `many` workload (bench/workloads.py), indexed by the project's own code
(segmentation, pooled chunk vectors, `VectorIndex.replace_documents` into a Qdrant Edge shard)
and searched with `VectorIndex.search` in its three modes (dense, sparse = BM25 alone, hybrid =
the project's ranking, core/index/ranking.py). Query sets: the judged questions below (semantic; answered by the chunk of the
deck holding the judged slide), and known-item queries made from the decks nobody wrote the
search for (the corpus and the workloads; answered by any chunk of the right deck): a line of a
deck (4 to 24 words, found in no other deck), and two rare words of a deck (words in that deck
only). Prints hit@1, hit@3 and MRR@10 per set and mode. `--ocr` indexes the text read from the
decks' pictures too (as ingestion does by default), with the same queries (drawn from the decks'
own text): whether picture text costs the other queries anything.

`--pooling`:

The index: the four sample decks (osmose_dagster/samples.py, written by people: en, fr, de) and
the 230-slide generated deck (bench/workloads.py) as distractors that share their themes (GPU
quotas, customer support, finance, supply chain). Segments and chunks are the project's own
(`core.pipeline.segment_decks`); only the chunk vectors differ between the variants:

  encoded  each chunk's text encoded as one passage (what the project did before pooling);
  pooled   the mean of the chunk's slide vectors weighted by their length in characters,
           normalized (what `embed_chunks` does by default: nothing is encoded twice);
  mean     the plain mean of the slide vectors, normalized (unweighted, for comparison).

Two query sets, each query with its one relevant slide:
  judged   JUDGED below: questions a person wrote for the sample decks, worded unlike the slides,
           in the deck's language; the relevant slide was chosen by reading the deck.
  facts    known-item queries: one sentence of a slide of the 230-slide deck (seeded sample,
           numbers and sites included), searched among that deck's chunks only. Its slides repeat
           the same sentence templates with other figures, so only the figures tell them apart.
A query is answered by the first chunk of the relevant deck whose slide range holds the relevant
slide. Prints hit@1, hit@3 and MRR@10 per set and variant, how many queries pooled ranks
higher or lower than encoded, and the cosine between the pooled and
the encoded vector of the chunks that have several parts.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

import numpy as np  # noqa: E402

from bench.workloads import generated_deck_slides, write_workload  # noqa: E402

EN, FR, DE, ML = (
    "quarterly_review_en.pptx",
    "energie_renouvelable_fr.pptx",
    "produktion_qualitaet_de.pptx",
    "ml_platform_onboarding_en.pptx",
)

# (deck, relevant slide, query). Written by reading the decks; the wording avoids the slides' own.
JUDGED = [
    (EN, 2, "how much money did we make in the third quarter compared with last year"),
    (EN, 2, "why did the public sector deals in the US take longer"),
    (EN, 3, "table of sales per geography with growth against plan"),
    (EN, 3, "which territory grew fastest thanks to a reseller in Mexico"),
    (EN, 4, "how big is the pipeline for next quarter relative to quota"),
    (EN, 4, "moving account executives from small business to government customers"),
    (EN, 5, "share of customers that cancelled in Q3"),
    (EN, 5, "net revenue retention figure"),
    (EN, 6, "reasons customers gave for leaving us"),
    (EN, 6, "customers switching to a cheaper competitor after a price rise"),
    (EN, 7, "what do customer success managers do when an account looks unhealthy"),
    (EN, 7, "when does the renewal review start before the contract ends"),
    (EN, 8, "how many employees will we have by June 2025"),
    (EN, 9, "number of people in each department"),
    (EN, 10, "how long does it take to fill an open position"),
    (EN, 10, "referrals as the cheapest source of new hires"),
    (EN, 11, "payroll cost of the new roles and the risk of too few recruiters"),
    (ML, 2, "how do I get an account and log in to the training machines"),
    (ML, 2, "which SSH key type and bastion host to use"),
    (ML, 3, "what happens when my team uses more GPU hours than allowed"),
    (ML, 4, "which partitions exist and what GPUs do they have"),
    (ML, 5, "rules for being polite on the shared cluster, idle sessions and big jobs"),
    (ML, 7, "where are checkpoints stored and how often"),
    (ML, 7, "does a preempted job restart by itself"),
    (ML, 8, "what must a new model pass before release, latency and fairness"),
    (ML, 9, "canary rollout and how to roll back a model"),
    (ML, 10, "may we train on personal data and what legal basis is needed"),
    (ML, 11, "what counts as confidential versus restricted data"),
    (ML, 12, "how long is raw personal data kept and how are erasure requests handled"),
    (ML, 13, "who to tell if personal data leaks and the 72 hour deadline"),
    (FR, 2, "quelle surface et quelle puissance pour la centrale solaire"),
    (FR, 3, "quand aura lieu l'enquête publique et le raccordement au réseau"),
    (FR, 4, "moutons sous les panneaux et protection des oiseaux"),
    (FR, 5, "disponibilité des éoliennes et inspection des pales par drone"),
    (FR, 6, "capteurs de vibrations et analyse d'huile pour prévoir les pannes"),
    (FR, 7, "règles de sécurité pour travailler dans la nacelle par vent fort"),
    (FR, 8, "montant des investissements prévus en 2025 par projet"),
    (FR, 9, "comment le projet est financé, dette et fonds propres"),
    (FR, 10, "report du repowering et provision pour aléas"),
    (DE, 2, "wie hat sich der Anteil fehlerhafter Teile im Oktober entwickelt"),
    (DE, 3, "Tabelle der Ausschussquote je Linie"),
    (DE, 4, "Ursachenanalyse für Gussfehler und 8D-Report"),
    (DE, 5, "Koordinatenmessmaschine und Prozessfähigkeit"),
    (DE, 6, "Engpass bei Halbleitern und Sicherheitsbestand"),
    (DE, 8, "Risikoanalyse nach dem Sorgfaltspflichtengesetz und zweite Bezugsquelle"),
    (DE, 9, "Liefertreue der Lieferanten und Kosten für Sonderfahrten"),
    (DE, 10, "wie viele Arbeitsunfälle und Beinaheunfälle gab es"),
    (DE, 11, "welche Schutzkleidung ist in der Gießerei Pflicht"),
    (DE, 12, "Geländer an den Staplerwegen und Ziel null Unfälle"),
]
BIG = "operations_review_230_slides.pptx"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pooling", action="store_true", help="pooled against encoded vectors")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--facts", type=int, default=150, help="--pooling: known-item queries")
    parser.add_argument("--lines", type=int, default=120, help="queries that are a line of a deck")
    parser.add_argument("--rare", type=int, default=120, help="queries of two rare words")
    parser.add_argument("--work", type=Path, default=Path("/tmp/osmose-bench"))
    parser.add_argument(
        "--ocr",
        action="store_true",
        help="index the text read from the decks' pictures too (queries stay the same)",
    )
    args = parser.parse_args(argv)
    if not args.pooling:
        from bench.retrieval_library import evaluate_library

        return evaluate_library(args, JUDGED)

    from osmose_dagster.cli.samples import write_sample_decks
    from osmose_dagster.core.extract.deck import extract_slides
    from osmose_dagster.core.model.embed import EncodeStats, load_embedder
    from osmose_dagster.core.model.pipeline import pool_vectors, segment_decks
    from osmose_dagster.core.records import ExtractedDeck
    from osmose_dagster.core.settings import DEFAULT_SEGMENT_PENALTY

    scratch = Path(tempfile.mkdtemp(prefix="retrieval-eval-"))
    paths = list(write_sample_decks(scratch)) + write_workload(
        "big", args.work / "workloads" / "big"
    )
    decks = {
        Path(p).name: ExtractedDeck(Path(p).name, Path(p).name, "-", extract_slides(Path(p)))
        for p in paths
    }
    embedder = load_embedder("all-MiniLM-L6-v2", args.device)
    segmented = segment_decks(decks, embedder, penalty=DEFAULT_SEGMENT_PENALTY)
    chunks = [(name, chunk) for name, deck in segmented.items() for chunk in deck.chunks]
    parts = [chunk.part_texts() for _, chunk in chunks]

    started = time.perf_counter()
    encoded = embedder.embed_passages([chunk.text for _, chunk in chunks], EncodeStats())
    encode_s = time.perf_counter() - started
    started = time.perf_counter()
    part_vectors = embedder.embed_passages([t for texts in parts for t in texts])
    pooled = pool_vectors(part_vectors, parts, embedder.dimension)
    pool_s = time.perf_counter() - started
    unweighted = pool_vectors(
        part_vectors, [[" "] * len(texts) for texts in parts], embedder.dimension
    )
    variants = {"encoded": encoded, "pooled": pooled, "mean": unweighted}

    multi = [i for i, texts in enumerate(parts) if len(texts) > 1]
    cosines = np.einsum("ij,ij->i", pooled[multi], encoded[multi]) if multi else np.zeros(0)
    print(
        f"{len(decks)} decks, {len(chunks)} chunks, {len(multi)} of several parts; cosine pooled "
        f"vs encoded on those: median {np.median(cosines):.3f}, min {cosines.min():.3f}"
    )
    print(
        f"chunk vectors: encoded {encode_s:.2f}s; pooled {pool_s:.2f}s (parts already embedded "
        "by segmentation)"
    )

    judged = [(deck, slide, query, None) for deck, slide, query in JUDGED]
    facts = known_item_queries(args.facts) if args.facts else []
    print(f"\n{'set':8} {'variant':8} {'queries':>7} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7}")
    for label, queries in (("judged", judged), ("facts", facts)):
        if not queries:
            continue
        query_vectors = embedder.embed_queries([q for _, _, q, _ in queries])
        ranks_of = {}
        for variant, vectors in variants.items():
            ranks = ranks_of[variant] = [
                rank_of(chunks, vectors, qv, deck, slide, only)
                for (deck, slide, _, only), qv in zip(queries, query_vectors)
            ]
            hit1 = sum(r == 1 for r in ranks) / len(ranks)
            hit3 = sum(r is not None and r <= 3 for r in ranks) / len(ranks)
            mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / len(ranks)
            print(f"{label:8} {variant:8} {len(ranks):7d} {hit1:6.3f} {hit3:6.3f} {mrr:7.3f}")
        pairs = [(p or 10**6, e or 10**6) for p, e in zip(ranks_of["pooled"], ranks_of["encoded"])]
        print(
            f"{label:8} pooled ranks the relevant chunk higher than encoded for "
            f"{sum(p < e for p, e in pairs)} queries, lower for {sum(p > e for p, e in pairs)}"
        )
    return 0


def known_item_queries(count: int) -> list[tuple[str, int, str, str]]:
    """(deck, slide, sentence, deck to search) for `count` seeded slides of the 230-slide deck."""
    slides = generated_deck_slides(230)
    rng = random.Random(2026)
    picks = rng.sample(range(1, len(slides)), min(count, len(slides) - 1))
    return [(BIG, number + 1, rng.choice(slides[number][1]), BIG) for number in picks]


def rank_of(chunks, vectors, query_vector, deck, slide, only) -> int | None:
    """1-based rank of the first chunk of `deck` holding `slide` (None: not found at all)."""
    scores = vectors @ query_vector
    order = np.argsort(-scores, kind="stable")
    rank = 0
    for i in order:
        name, chunk = chunks[i]
        if only and name != only:
            continue
        rank += 1
        if name == deck and chunk.first_slide <= slide <= chunk.last_slide:
            return rank
    return None


if __name__ == "__main__":
    sys.exit(main())
