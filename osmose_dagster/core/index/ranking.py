"""How a search ranks: one score formula that Qdrant computes over two prefetched lists.

    score = cosine(query, chunk)
          + w(q) * bm25(chunk) / bm25(best lexical hit)
          + VERBATIM_BONUS  if the chunk holds the whole query word for word (3 words or more)

The dense list (cosine) and the BM25 list (the chunk's BM25 sparse vector, IDF by Qdrant) are
each prefetched CANDIDATES deep; a chunk missing from one list scores 0 there, so they are deep.

w(q), the weight of the exact words, is set per query from how much of the query's IDF the best
lexical hits hold (`coverage`): a line copied from a slide or a rare name is held whole by one
chunk (LEXICAL_WEIGHT_WHOLE); two rare names on two slides by the best two together, or the
query is rare words only (LEXICAL_WEIGHT_SPLIT); a question in a person's own words shares only some common words with
any chunk, and the dense ranking decides (LEXICAL_WEIGHT_WORDS). Chosen on bench/search_eval.py
(tune half, then checked on the held-out half; bench/search_fusion_sweep.py): rank fusion and
fixed weights each lost either the questions or the rare names.

What a client computes before its one query (docs/search-api.md): the query's words and their
document frequencies (count requests), the best two lexical hits (one query), then w(q).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from osmose_dagster.core.index.bm25 import tokenize

CANDIDATES = 300  # depth of each prefetched list
LEXICAL_WEIGHT_WHOLE = 0.3
LEXICAL_WEIGHT_SPLIT = 0.2
LEXICAL_WEIGHT_RARE = (
    1.0  # every word rare: BM25 is the better list; cosines of two names are noise
)
LEXICAL_WEIGHT_WORDS = 0.02
COVERED = 0.95  # share of the query's IDF that counts as "all of it"
# A word held by at most this share of the points is rare; a query of rare words only is names or
# codes, even when no two hits hold them all. (In a library under 100 points no word is rare.)
RARE_SHARE = 0.01
VERBATIM_BONUS = 1.0
MIN_VERBATIM_WORDS = 3


def idf(total: int, frequency: int) -> float:
    """Qdrant's IDF (the sparse vector's `idf` modifier): ln(1 + (N - n + 0.5) / (n + 0.5))."""
    return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))


def coverage(weights: Mapping[str, float], texts: Sequence[str]) -> float:
    """The share of the query's IDF (`weights`: word -> IDF) whose words occur in `texts`."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    present: set[str] = set()
    for text in texts:
        present |= set(tokenize(text))
    return sum(weight for word, weight in weights.items() if word in present) / total


def all_rare(frequencies: Mapping[str, int], total: int) -> bool:
    """Every query word the library has is rare (a name, a code); a question always has a
    common one ("how", "the", "we")."""
    return all(n <= RARE_SHARE * total for n in frequencies.values() if n > 0)


def lexical_weight(frequencies: Mapping[str, int], total: int, best_texts: Sequence[str]) -> float:
    """w(q) from the document frequency of each query word, the number of points, and the text
    of the best two lexical hits, best first. A word found nowhere is held by no hit: a query
    of words the library does not have is left to the dense ranking."""
    weights = {word: idf(total, n) for word, n in frequencies.items()}
    if not best_texts or not any(frequencies.values()):
        return 0.0
    if all_rare(frequencies, total):
        return LEXICAL_WEIGHT_RARE
    if coverage(weights, best_texts[:1]) >= COVERED:
        return LEXICAL_WEIGHT_WHOLE
    if coverage(weights, best_texts[:2]) >= COVERED:
        return LEXICAL_WEIGHT_SPLIT
    return LEXICAL_WEIGHT_WORDS
