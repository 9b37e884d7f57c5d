"""Text repeated on most slides of a deck (a footer, a logo's alt text or the text read from it) is
kept once per deck.

Indexed on every slide, "ACME Corp — Confidential" would weigh on every slide's vector and match
every query about ACME; kept on the first slide where it appears, search still finds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from osmose_dagster.core.extract.ooxml import single_line
from osmose_dagster.core.extract.slides import Block, SlideContent

MIN_SLIDES = 3  # on at least this many slides...
MIN_SHARE = 0.5  # ...and on at least this share of the deck's slides
# Not titles, tables, charts: those carry the slide's topic. A picture's text: a logo on each slide.
_DEDUPLICATED_KINDS = ("body", "alt", "picture")


def drop_repeated_blocks(contents: Sequence[SlideContent]) -> int:
    """Remove, in place, every repeat of a block found on most slides, except the first one.

    Returns how many blocks were removed."""
    slides_with: Counter[str] = Counter()
    for content in contents:
        slides_with.update({_key(block) for block in content.blocks if _eligible(block)})
    threshold = max(MIN_SLIDES, MIN_SHARE * len(contents))
    repeated = {key for key, count in slides_with.items() if count >= threshold}
    if not repeated:
        return 0
    seen: set[str] = set()
    removed = 0
    for content in contents:
        kept = []
        on_this_slide = set()
        for block in content.blocks:
            key = _key(block) if _eligible(block) else ""
            if key in repeated and key in seen:
                removed += 1
                continue
            kept.append(block)
            on_this_slide.add(key)
        seen |= on_this_slide
        content.blocks = kept
    return removed


def _eligible(block: Block) -> bool:
    return block.kind in _DEDUPLICATED_KINDS and bool(block.text)


def _key(block: Block) -> str:
    # A picture's text counts apart: it never makes the slide's own text look repeated.
    prefix = "picture:" if block.kind == "picture" else ""
    return prefix + single_line(block.text).casefold()
