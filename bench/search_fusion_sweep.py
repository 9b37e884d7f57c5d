"""How dense and BM25 are combined, chosen on bench/search_eval.py's library and queries.

    .venv/bin/python -m bench.search_fusion_sweep [--work /tmp/osmose-search-eval] [--depth 300]

Everything Qdrant itself can compute, per query, on the eval's Qdrant Edge store (built by
bench/search_eval.py; copied, and its `text` index given BM25 scoring as the project now makes
it): the dense top `--depth` (cosine), BM25 over the text index (`TextQuery`) top `--depth`, the
document frequency of each query word (count requests) and the number of points. Then, in
numpy, families of score formulas over those lists are scored on every kind of query (a point
missing from a list scores 0 there, as in Qdrant's Formula):

  rrf        sum of w / (k + rank) (the ranking before issue 22)
  linear     cosine + w * bm25 / S(q), S(q) = the sum of the query words' IDF
  gated      cosine + w(q) * bm25 / S(q), w(q) = lo + (hi - lo) * [c(q) >= c0], where
             c(q) = best bm25 / S(q): how much of the query's IDF the best lexical hit covers

The grid is searched on the `tune` half of the questions plus copied lines and rare names; the
best row is reported on the held-out half too. Prints a table per family.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np

from bench import search_eval as ev

K1 = 1.2


def collect(work: Path, depth: int):
    P = ev.project()
    own_paths, distractors = ev.write_library(P, work)
    cache, slides, *_ = ev.build_or_load(P, [*own_paths, *distractors], work, rebuild=False)
    own = [p.name for p in own_paths]
    rng = random.Random(ev.SEED)
    questions = ev.question_queries(slides)
    queries = [
        *questions,
        *ev.copied_line_queries(own, slides, rng),
        *ev.rare_name_queries(P, own, slides, rng),
    ]
    embedder = P.load_embedder(ev.MODEL, "cpu")
    vectors = embedder.embed_queries([q.text for q in queries])

    import qdrant_edge as edge

    from osmose_dagster.core.index.bm25 import tokenize

    scratch = Path(tempfile.mkdtemp(prefix="fusion-sweep-"))
    shard_dir = scratch / "shard"
    shutil.copytree(cache / "qdrant" / "shards" / "search_eval", shard_dir)
    shard = edge.EdgeShard.load(str(shard_dir))
    shard.update(
        edge.UpdateOperation.create_field_index(
            "text",
            edge.TextIndexParams(
                tokenizer=edge.TokenizerType.Word,
                lowercase=True,
                ascii_folding=True,
                phrase_matching=True,
                scoring=edge.TextScoringParams(type=edge.TextScoringType.Bm25),
            ),
        )
    )
    total = shard.count(edge.CountRequest(exact=True))
    rows = []
    for q, vector in zip(queries, vectors):
        dense = shard.query(
            edge.QueryRequest(
                limit=depth, query=edge.Query.Nearest(vector.tolist()), with_payload=True
            )
        )
        lexical = shard.query(
            edge.QueryRequest(limit=depth, query=edge.TextQuery("text", q.text), with_payload=True)
        )
        idf = []
        for token in dict.fromkeys(tokenize(q.text)):
            df = shard.count(
                edge.CountRequest(
                    exact=True,
                    filter=edge.Filter(
                        must=[edge.FieldCondition("text", match=edge.MatchText(token))]
                    ),
                )
            )
            if df:
                idf.append(math.log(1 + (total - df + 0.5) / (df + 0.5)))
        place = {}
        for p in [*dense, *lexical]:
            place[str(p.id)] = (
                p.payload["document"],
                p.payload["first_slide"],
                p.payload["last_slide"],
            )
        rows.append(
            {
                "query": q,
                "dense": {str(p.id): p.score for p in dense},
                "bm25": {str(p.id): p.score for p in lexical},
                "S": sum(idf),
                "place": place,
            }
        )
    shard.close()
    shutil.rmtree(scratch)
    return rows


def rank(row, fuse) -> list[tuple[str, int, int]]:
    ids = list(dict.fromkeys([*row["dense"], *row["bm25"]]))
    scores = np.array([fuse(row, pid) for pid in ids])
    order = np.argsort(-scores, kind="stable")[: ev.RESULTS]
    return [row["place"][ids[i]] for i in order]


def evaluate(rows, make_fuse, groups) -> dict[str, tuple[float, float, float]]:
    out = {}
    for name, chosen in groups.items():
        scores = []
        for row in chosen:
            fuse = make_fuse(row)
            scores.append(ev.score(rank(row, fuse), row["query"].judgement))
        n = max(len(scores), 1)
        out[name] = tuple(round(sum(s[i] for s in scores) / n, 3) for i in range(3))
    return out


def rrf(k: float, w: float):
    def make(row):
        dense_rank = {pid: r for r, pid in enumerate(row["dense"], start=1)}
        bm25_rank = {pid: r for r, pid in enumerate(row["bm25"], start=1)}

        def fuse(row, pid):
            s = 1 / (k + dense_rank[pid]) if pid in dense_rank else 0.0
            return s + (w / (k + bm25_rank[pid]) if pid in bm25_rank else 0.0)

        return fuse

    return make


def gated(lo: float, hi: float, c0: float):
    def make(row):
        S = row["S"] or 1.0
        best = max(row["bm25"].values(), default=0.0)
        weight = hi if best / S >= c0 else lo

        def fuse(row, pid):
            return row["dense"].get(pid, 0.0) + weight * row["bm25"].get(pid, 0.0) / S

        return fuse

    return make


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/osmose-search-eval"))
    parser.add_argument("--depth", type=int, default=300)
    args = parser.parse_args(argv)
    rows = collect(args.work, args.depth)
    by = {
        "q tune": [r for r in rows if r["query"].kind == "question" and r["query"].split == "tune"],
        "q held": [
            r for r in rows if r["query"].kind == "question" and r["query"].split == "held_out"
        ],
        "copied": [r for r in rows if r["query"].kind == "copied_line"],
        "rare": [r for r in rows if r["query"].kind == "rare_name"],
    }
    covers = {
        kind: np.percentile(
            [max(r["bm25"].values(), default=0) / (r["S"] or 1) for r in chosen], [10, 50, 90]
        ).round(2)
        for kind, chosen in by.items()
    }
    print("coverage c(q) = best bm25 / S(q), 10/50/90th percentile:", covers)

    def line(label, figures):
        cells = "  ".join(f"{k}: {v[0]:.3f} {v[1]:.3f} {v[2]:.3f}" for k, v in figures.items())
        print(f"{label:<34} {cells}")

    print("(hit@1 hit@5 MRR@10 per set)")
    line("dense", evaluate(rows, gated(0, 0, 99), by))
    line("bm25", evaluate(rows, lambda row: lambda r, pid: r["bm25"].get(pid, 0.0), by))
    for k, w in [(60, 1), (60, 0.5), (10, 1)]:
        line(f"rrf k={k} w={w}", evaluate(rows, rrf(k, w), by))
    for w in [0.05, 0.1, 0.2, 0.4, 0.8]:
        line(f"linear w={w}", evaluate(rows, gated(w, w, 0), by))
    results = []
    for lo in [0.0, 0.02, 0.05, 0.1]:
        for hi in [0.3, 0.5, 0.8, 1.2, 2.0]:
            for c0 in [0.3, 0.5, 0.7, 0.9, 1.1, 1.3]:
                fig = evaluate(rows, gated(lo, hi, c0), by)
                # tuned on: the tune questions' MRR, with copied lines and rare names kept >= 0.95
                worst = min(fig["copied"][0], fig["rare"][0])
                results.append(
                    (worst >= 0.95, fig["q tune"][2], fig["q tune"][1], (lo, hi, c0), fig)
                )
    results.sort(key=lambda r: (r[0], r[1], r[2]), reverse=True)
    for ok, _, _, (lo, hi, c0), fig in results[:8]:
        line(f"gated lo={lo} hi={hi} c0={c0}{'' if ok else ' !'}", fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
