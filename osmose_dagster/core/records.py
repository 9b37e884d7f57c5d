"""The small typed records that flow between the pipeline's stages.

They are plain dataclasses so that a person can read them as JSON (the IO manager serialises
them with pydantic's TypeAdapter) and so that `core` stays free of Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Slide:
    """One slide's text. Each kind of block has its own field; `reading_order` says in which
    order a person reads the body, table, chart and alt-text blocks on the slide."""

    number: int  # 1-based position in the deck
    title: str = ""
    body: list[str] = field(default_factory=list)  # text blocks: shapes, groups, SmartArt
    tables: list[list[list[str]]] = field(default_factory=list)  # table -> row -> cell text
    notes: str = ""
    hidden: bool = False
    # The fields below came with PIPELINE_VERSION 3; their defaults let older slide JSON load.
    charts: list[str] = field(default_factory=list)  # title, axis titles, a line per series
    alt_text: list[str] = field(default_factory=list)  # descriptions of pictures and shapes
    comments: list[str] = field(default_factory=list)  # "Author: text", replies on next lines
    # (kind, index) of each block, kind one of BLOCK_KINDS, e.g. [("body", 0), ("table", 0)].
    # Empty in older JSON: the body then comes first, then the tables (as they were indexed).
    reading_order: list[tuple[str, int]] = field(default_factory=list)
    # Text read from the slide's pictures (OCR), one entry per picture, in reading order; indexed
    # after the rest of the slide. Since PIPELINE_VERSION 5; older JSON has none.
    pictures: list[str] = field(default_factory=list)

    def blocks(self) -> list[str]:
        """The body, table, chart and alt-text blocks as text, in reading order."""
        by_kind = self._blocks_by_kind()
        return [by_kind[kind][index] for kind, index in self.block_refs()]

    def block_refs(self) -> list[tuple[str, int]]:
        """(kind, index) of every non-empty block, in reading order (`reading_order`, then any
        block it does not list, in BLOCK_KINDS order)."""
        by_kind = self._blocks_by_kind()
        refs = [(kind, index) for kind, index in self.reading_order]
        refs += [(kind, i) for kind in BLOCK_KINDS for i in range(len(by_kind[kind]))]
        return [
            (kind, index)
            for kind, index in dict.fromkeys(refs)
            if 0 <= index < len(by_kind.get(kind, [])) and by_kind[kind][index]
        ]

    def _blocks_by_kind(self) -> dict[str, list[str]]:
        return {
            "body": self.body,
            "table": [table_text(table) for table in self.tables],
            "chart": self.charts,
            "alt": self.alt_text,
        }

    @property
    def text(self) -> str:
        """Everything searchable on the slide, as one string: the title, the blocks in reading
        order, the notes, the comments, then the text read from its pictures."""
        parts = [self.title] if self.title else []
        parts += self.blocks()
        if self.notes:
            parts.append(self.notes)
        parts += [comment for comment in self.comments if comment]
        parts += [text for text in self.pictures if text]
        return "\n".join(parts)


BLOCK_KINDS = ("body", "table", "chart", "alt")


def table_text(table: list[list[str]]) -> str:
    """A table as indexed: one line per row, cells joined by " | "."""
    return "\n".join(" | ".join(row) for row in table if any(row))


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
