"""What `osmose extract DECK` prints: per slide, exactly the text that would be indexed, as JSON
for scripts or as Markdown for people."""

from __future__ import annotations

from osmose_dagster.core.records import Slide

_BLOCK_FIELDS = {"body": "body", "table": "tables", "chart": "charts", "alt": "alt_text"}


def slides_as_json(slides: list[Slide]) -> list[dict]:
    """One object per slide: its parts in reading order, the text read from its pictures, and
    `text`, the string indexed."""
    return [
        {
            "number": slide.number,
            "title": slide.title,
            "hidden": slide.hidden,
            "blocks": [_block_json(kind, value) for kind, value in _blocks(slide)],
            "notes": slide.notes,
            "comments": list(slide.comments),
            "pictures": list(slide.pictures),
            "text": slide.text,
        }
        for slide in slides
    ]


def slides_as_markdown(slides: list[Slide]) -> str:
    return "\n\n".join(_slide_markdown(slide) for slide in slides) + "\n"


def _blocks(slide: Slide) -> list[tuple[str, str | list[list[str]]]]:
    """(kind, text or table rows) in the order `Slide.text` uses."""
    return [
        (kind, getattr(slide, _BLOCK_FIELDS[kind])[index]) for kind, index in slide.block_refs()
    ]


def _block_json(kind: str, value: str | list[list[str]]) -> dict:
    if kind == "table":
        return {"kind": kind, "rows": value}
    return {"kind": kind, "text": value}


def _slide_markdown(slide: Slide) -> str:
    heading = f"## Slide {slide.number}"
    if slide.title:
        heading += f": {slide.title}"
    if slide.hidden:
        heading += " (hidden)"
    parts = [heading]
    for kind, value in _blocks(slide):
        if isinstance(value, list):
            parts.append(_table_markdown(value))
        elif kind == "chart":
            parts.append(_quoted("Chart", value))
        elif kind == "alt":
            parts.append(_quoted("Alt text", value))
        else:
            parts.append(value)
    if slide.notes:
        parts.append(_quoted("Notes", slide.notes))
    for comment in slide.comments:
        parts.append(_quoted("Comment", comment))
    for text in slide.pictures:
        parts.append(_quoted("Read from a picture", text))
    return "\n\n".join(parts)


def _quoted(label: str, text: str) -> str:
    lines = text.splitlines()
    return "\n".join([f"> *{label}:* {lines[0]}", *(f"> {line}" for line in lines[1:])])


def _table_markdown(rows: list[list[str]]) -> str:
    width = max(len(row) for row in rows)
    cells = [[_cell(text) for text in row] + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")
