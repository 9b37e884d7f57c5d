"""What a search query asks for: free text, and quoted phrases that every result must contain."""

from __future__ import annotations

import re
from dataclasses import dataclass

from osmose_dagster.core.index.bm25 import tokenize

# Straight and typographic double quotes, as people type or paste them (en, fr, de).
_QUOTED = re.compile(
    r'["\u201c\u201d\u201e\u00ab\u00bb]\s*([^"\u201c\u201d\u201e\u00ab\u00bb]*?)\s*["\u201c\u201d\u201e\u00ab\u00bb]'
)


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what dense and BM25 retrieval score: the whole query, quotes removed
    phrases: tuple[str, ...]  # each must occur, words in this order, in a result's text


def parse_query(query: str) -> ParsedQuery:
    """A phrase without a word in it (`"*"`) asks for nothing a text can hold: it is searched
    without, as free text, rather than answering nothing."""
    phrases = tuple(p for p in (m.group(1) for m in _QUOTED.finditer(query)) if tokenize(p))
    text = " ".join(_QUOTED.sub(lambda m: f" {m.group(1)} ", query).split())
    return ParsedQuery(text=text, phrases=phrases)
