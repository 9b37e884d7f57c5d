"""Namespaces and the text of DrawingML paragraphs, read straight from the XML with lxml."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
CX = "{http://schemas.microsoft.com/office/drawing/2014/chartex}"
DGM = "{http://schemas.openxmlformats.org/drawingml/2006/diagram}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
P188 = "{http://schemas.microsoft.com/office/powerpoint/2018/8/main}"

# Fields whose text PowerPoint computes (slide number, date and time), not text a person typed.
_AUTO_FIELD_PREFIXES = ("slidenum", "datetime")
_SLIDE_NUMBER_MARK = "‹#›"  # what layouts and masters show in place of the slide number


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def paragraph_text(paragraph: etree._Element) -> str:
    """One a:p: its runs, line breaks as newlines, fields unless computed by PowerPoint."""
    pieces = []
    for child in paragraph:
        tag = child.tag
        if tag == f"{A}r":
            pieces.append(_run_text(child))
        elif tag == f"{A}br":
            pieces.append("\n")
        elif tag == f"{A}fld" and not _is_auto_field(child):
            pieces.append(_run_text(child))
    text = "".join(pieces).replace(_SLIDE_NUMBER_MARK, "")
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def paragraphs_text(paragraphs: Iterable[etree._Element]) -> str:
    """Non-empty paragraphs, one a line."""
    return "\n".join(text for paragraph in paragraphs if (text := paragraph_text(paragraph)))


def text_body(element: etree._Element | None) -> str:
    """Every a:p below `element` (a txBody, a rich text, a whole shape)."""
    if element is None:
        return ""
    return paragraphs_text(element.iter(f"{A}p"))


def _run_text(run: etree._Element) -> str:
    text = run.find(f"{A}t")
    return (text.text or "") if text is not None else ""


def _is_auto_field(field: etree._Element) -> bool:
    return (field.get("type") or "").lower().startswith(_AUTO_FIELD_PREFIXES)


def single_line(text: str) -> str:
    return " ".join(text.split())
