"""What a search query asks for: free text, and quoted phrases that every result must contain."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Straight and typographic double quotes, as people type or paste them (en, fr, de).
_QUOTED = re.compile(
    r'["\u201c\u201d\u201e\u00ab\u00bb]\s*([^"\u201c\u201d\u201e\u00ab\u00bb]*?)\s*["\u201c\u201d\u201e\u00ab\u00bb]'
)


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what dense and BM25 retrieval score: the whole query, quotes removed
    phrases: tuple[str, ...]  # each must occur, words in this order, in a result's text


def parse_query(query: str) -> ParsedQuery:
    phrases = tuple(p for p in (m.group(1) for m in _QUOTED.finditer(query)) if p.strip())
    text = " ".join(_QUOTED.sub(lambda m: f" {m.group(1)} ", query).split())
    return ParsedQuery(text=text, phrases=phrases)
