"""BM25 sparse vectors computed by the project, the same for the embedded engine and a server.

A document vector holds, per term of a chunk's title and text, BM25's saturated and
length-normalised term frequency; the IDF is applied by Qdrant itself (`modifier: idf` on the
sparse vector), from the collection's own document frequencies, so a vector never needs
rewriting when the library grows. A query vector holds each of its terms once, with weight 1:
its score against a chunk is then exactly BM25.

Tokens: Unicode words, case-folded, accents of Latin letters folded (é -> e, ü -> u, ß -> ss),
of 2 to 40 characters, and single digits ("2 %" and "3 %" differ); Chinese and Japanese as pairs
of characters (they are written without spaces). No stemming and no stop words: the decks are English, French and German, and a
language-specific list would make another language's words unfindable; IDF already gives
words that occur everywhere ("the", "la", "der") almost no weight. Term ids are the first
4 bytes of a BLAKE2b hash of the token, so they are stable across processes and machines.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

K1 = 1.2  # term-frequency saturation
B = 0.75  # length normalisation
# Fixed rather than tracked, so that a vector depends on its chunk alone: the mean chunk length in
# tokens over the 96-deck library of bench/retrieval_eval.py (2,118 chunks: mean 128, median 126;
# a chunk is at most the model's 256 word pieces).
AVG_LEN = 128.0
MIN_TOKEN, MAX_TOKEN = 2, 40

_WORD = re.compile(r"[^\W_]+")
_STRETCH = {"\u0640", "\u200c", "\u200d"}  # Arabic tatweel, zero-width (non-)joiner
# Han, Hiragana, Katakana (and their halfwidth forms), Hangul syllables: written without spaces.
_CJK_CHARS = (
    "\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af"
)
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+|[^{_CJK_CHARS}]+")


@dataclass(frozen=True)
class SparseTerms:
    """A sparse vector: term ids (ascending) and their weights."""

    indices: list[int]
    values: list[float]

    def __bool__(self) -> bool:
        return bool(self.indices)


def tokenize(text: str) -> list[str]:
    tokens = []
    for word in _WORD.findall(_folded(text)):
        if _CJK.search(word):
            tokens += _cjk_pieces(word)
        elif MIN_TOKEN <= len(word) <= MAX_TOKEN or (len(word) == 1 and word.isdigit()):
            tokens.append(word)
    return tokens


def _folded(text: str) -> str:
    """Case folded (ß as ss); accents dropped from Latin letters only (é -> e), so that the
    marks that make another letter in other scripts stay (Japanese ゲ is not ケ, Arabic ئ is not
    ي); the Arabic tatweel that stretches a word for layout (الجـزائر) removed."""
    text = text.casefold()
    if text.isascii():
        return text
    return "".join(_fold_char(char) for char in unicodedata.normalize("NFC", text))


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char.isascii():
        return char
    if char in _STRETCH:
        return ""
    parts = unicodedata.normalize("NFKD", char)
    bare = "".join(part for part in parts if not unicodedata.combining(part))
    # é -> e, ﬁ -> fi, fullwidth Ｇ -> g; anything else in its composed compatibility form
    return bare if bare.isascii() else unicodedata.normalize("NFKC", char)


def _cjk_pieces(word: str) -> list[str]:
    """Chinese and Japanese are written without spaces: a run of their characters gives its
    overlapping pairs (尾崎の最期: 尾崎, 崎の, の最, 最期), so a query of any two or more of them
    in a row matches; other characters of the run (digits, Latin) stay words."""
    pieces: list[str] = []
    for run in _CJK_RUN.findall(word):
        if _CJK.match(run):
            pieces += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        elif MIN_TOKEN <= len(run) <= MAX_TOKEN or run.isdigit():
            pieces.append(run)
    return pieces


def term_id(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "big")


def document_vector(title: str, text: str) -> SparseTerms:
    tokens = tokenize(title) + tokenize(text)
    norm = K1 * (1 - B + B * len(tokens) / AVG_LEN)
    weights: dict[int, float] = {}
    for token, tf in Counter(tokens).items():
        key = term_id(token)
        weights[key] = weights.get(key, 0.0) + tf * (K1 + 1) / (tf + norm)
    return _sorted(weights)


def query_vector(text: str) -> SparseTerms:
    return _sorted({term_id(token): 1.0 for token in tokenize(text)})


def _sorted(weights: dict[int, float]) -> SparseTerms:
    keys = sorted(weights)
    return SparseTerms(keys, [weights[k] for k in keys])
