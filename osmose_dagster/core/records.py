"""The small typed records that flow between the pipeline's stages.

They are plain dataclasses so that a person can read them as JSON (the IO manager serialises
them with pydantic's TypeAdapter) and so that `core` stays free of Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Slide:
    """One slide's text, in reading order (top to bottom, then left to right)."""

    number: int  # 1-based position in the deck
    title: str = ""
    body: list[str] = field(default_factory=list)  # text blocks: shapes, groups, SmartArt, charts
    tables: list[list[list[str]]] = field(default_factory=list)  # table -> row -> cell text
    notes: str = ""
    hidden: bool = False

    @property
    def text(self) -> str:
        """Everything searchable on the slide, as one string (title first, notes last)."""
        parts = [self.title] if self.title else []
        parts += [block for block in self.body if block]
        for table in self.tables:
            parts += [" | ".join(cell for cell in row) for row in table if any(row)]
        if self.notes:
            parts.append(self.notes)
        return "\n".join(parts)


@dataclass(frozen=True)
class RawDocument:
    document: str  # the partition key
    path: str
    file: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ExtractedDeck:
    document: str
    file: str
    sha256: str
    slides: list[Slide]


@dataclass(frozen=True)
class Segment:
    """Consecutive slides on one topic; slide numbers are 1-based and inclusive."""

    index: int
    first_slide: int
    last_slide: int
    title: str


@dataclass(frozen=True)
class Chunk:
    """The unit that becomes one Qdrant point: a segment, or a piece of a long one."""

    segment: int
    index: int  # position among all chunks of the document
    first_slide: int
    last_slide: int
    title: str
    text: str
    # Character lengths of the parts `text` joins with a blank line: each a slide's text, or a
    # piece of a long one. A chunk's vector is pooled from its parts' vectors (pipeline.py).
    # Empty in chunks written before parts were recorded: the whole text is then one part.
    parts: list[int] = field(default_factory=list)

    def part_texts(self) -> list[str]:
        if not self.parts:
            return [self.text]
        out, start = [], 0
        for length in self.parts:
            out.append(self.text[start : start + length])
            start += length + len(PART_SEPARATOR)
        return out


PART_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class SegmentedDeck:
    document: str
    file: str
    sha256: str
    segments: list[Segment]
    chunks: list[Chunk]
