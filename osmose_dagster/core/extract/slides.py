"""One slide's shapes, read from the slide XML: text, tables, charts, SmartArt and alt text, each a
block with its place on the slide, in the order a person reads them.

The shape tree is walked with lxml rather than python-pptx's shape objects: python-pptx skips
shapes inside mc:AlternateContent (Office 2016 charts live there), raises on shapes it does not
model, and does not map a group's children onto the slide. A shape that cannot be read is
skipped and reported; the rest of the slide is still read.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree
from pptx.exc import PythonPptxError

from osmose_dagster.core.extract.charts import chart_text
from osmose_dagster.core.extract.ooxml import (
    CX,
    DGM,
    MC,
    A,
    C,
    P,
    R,
    local_name,
    single_line,
    text_body,
)
from osmose_dagster.core.extract.pictures import Picture
from osmose_dagster.core.extract.reading_order import Box, Transform, in_reading_order, xfrm_box
from osmose_dagster.core.extract.sniff import safe_xml_parser

BlockKind = Literal["body", "table", "chart", "alt", "picture"]

# What reading one part (a shape, a chart part, a comment part) may raise when the part is
# malformed; the part is then skipped and reported, and the deck is still read.
PART_ERRORS: tuple[type[BaseException], ...] = (
    PythonPptxError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    TypeError,
    ArithmeticError,
    NotImplementedError,
    RecursionError,
    etree.LxmlError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
)

_TITLE_TYPES = {"title", "ctrTitle"}
# A layout placeholder without a position takes its master's placeholder of this type.
_MASTER_TYPE = {
    "title": "title",
    "ctrTitle": "title",
    "dt": "dt",
    "ftr": "ftr",
    "sldNum": "sldNum",
    "hdr": "hdr",
}
_DIAGRAM_DATA_RELTYPE_SUFFIX = "/diagramData"
_TABLE_URI = "http://schemas.openxmlformats.org/drawingml/2006/table"
_CHART_URIS = {
    "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "http://schemas.microsoft.com/office/drawing/2014/chartex",
}
_DIAGRAM_URI = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
# Alt text PowerPoint wrote by itself: a picture's file name, or a machine description.
_FILE_NAME = re.compile(r"^[^\n]{0,200}\.(png|jpe?g|gif|bmp|tiff?|emf|wmf|svg|webp|heic)$", re.I)
_GENERATED = re.compile(
    r"automatically generated|automatisch generiert|générée automatiquement", re.I
)
_NOT_SHAPES = {"nvGrpSpPr", "grpSpPr", "extLst", "contentPart"}  # contentPart: ink, no text


@dataclass
class Block:
    kind: BlockKind
    text: str = ""  # "" for a table, whose cells are in `table`
    table: list[list[str]] | None = None
    box: Box | None = None  # where it is on the slide; None: unknown, read after the rest
    # A "picture" block: the image to read (its text is filled in by OCR); None for a linked one.
    picture: Picture | None = None


@dataclass
class SlideContent:
    title: str = ""
    blocks: list[Block] = field(default_factory=list)  # in reading order
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (which shape or part, cause)
    off_slide_shapes: int = 0


def xml_of(part) -> etree._Element:
    """A package part's XML: python-pptx has parsed the parts it models, the rest is a blob."""
    element = getattr(part, "_element", None)
    if element is not None:
        return element
    return etree.fromstring(part.blob, parser=safe_xml_parser())


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class PlaceholderPositions:
    """Where a slide placeholder without a position of its own sits: at its layout placeholder
    (same idx), or at the master placeholder of the layout placeholder's type. Kept per layout
    and master, shared by a deck's slides: looking them up per shape was 40% of extraction time."""

    def __init__(self) -> None:
        self._layouts: dict[str, dict[str, Box | None]] = {}
        self._masters: dict[str, dict[str, Box]] = {}

    def box(self, slide_part, placeholder: etree._Element) -> Box | None:
        layout_part = _related_part(slide_part, "/slideLayout")
        if layout_part is None:
            return None
        name = str(layout_part.partname)
        if name not in self._layouts:
            self._layouts[name] = self._layout_boxes(layout_part)
        return self._layouts[name].get(placeholder.get("idx", "0"))

    def _layout_boxes(self, layout_part) -> dict[str, Box | None]:
        master_boxes = self._master_boxes(_related_part(layout_part, "/slideMaster"))
        boxes: dict[str, Box | None] = {}
        for shape, placeholder in _placeholders(xml_of(layout_part)):
            box = xfrm_box(_xfrm(shape), Transform())
            if box is None:
                box = master_boxes.get(_MASTER_TYPE.get(placeholder.get("type", "obj"), "body"))
            boxes.setdefault(placeholder.get("idx", "0"), box)
        return boxes

    def _master_boxes(self, master_part) -> dict[str, Box]:
        if master_part is None:
            return {}
        name = str(master_part.partname)
        if name not in self._masters:
            boxes: dict[str, Box] = {}
            for shape, placeholder in _placeholders(xml_of(master_part)):
                box = xfrm_box(_xfrm(shape), Transform())
                if box is not None:
                    boxes.setdefault(placeholder.get("type", "obj"), box)
            self._masters[name] = boxes
        return self._masters[name]


def _placeholders(root: etree._Element):
    tree = root.find(f"{P}cSld/{P}spTree")
    if tree is None:
        return
    for shape in tree:
        placeholder = _placeholder(shape)
        if placeholder is not None:
            yield shape, placeholder


def _related_part(part, reltype_suffix: str):
    for rel in part.rels.values():
        if not rel.is_external and rel.reltype.endswith(reltype_suffix):
            return rel.target_part
    return None


@dataclass
class DeckGeometry:
    slide_width: int | None
    slide_height: int | None
    placeholders: PlaceholderPositions = field(default_factory=PlaceholderPositions)


def read_slide(slide_part, geometry: DeckGeometry, *, pictures: bool = False) -> SlideContent:
    """The slide's blocks in reading order; with `pictures`, a "picture" block (text empty) for
    every picture shown: picture shapes, picture fills of shapes, the slide's background."""
    return _SlideWalker(slide_part, geometry, pictures).read()


class _SlideWalker:
    def __init__(self, slide_part, geometry: DeckGeometry, pictures: bool = False) -> None:
        self._part = slide_part
        self._geometry = geometry
        self._pictures = pictures
        self._blocks: list[Block] = []
        self._diagrams_read: set[str] = set()
        self.content = SlideContent()

    def read(self) -> SlideContent:
        tree = xml_of(self._part).find(f"{P}cSld/{P}spTree")
        if tree is not None:
            title = self._title_shape(tree)
            if title is not None:
                self.content.title = single_line(text_body(title.find(f"{P}txBody")))
            for child in tree:
                if child is not title:
                    self._visit(child, Transform())
        if self._pictures:
            self._background_picture()
        self._read_unplaced_diagrams()
        # Pictures are ordered among themselves: their boxes must not move the slide's own text.
        text = [block for block in self._blocks if block.kind != "picture"]
        pictures = [block for block in self._blocks if block.kind == "picture"]
        place = lambda block: block.box  # noqa: E731
        self.content.blocks = in_reading_order(text, place) + in_reading_order(pictures, place)
        return self.content

    def _title_shape(self, tree: etree._Element) -> etree._Element | None:
        for shape in tree.iterchildren(f"{P}sp"):
            placeholder = _placeholder(shape)
            if placeholder is not None and placeholder.get("type") in _TITLE_TYPES:
                return shape
        return None

    def _visit(self, element: etree._Element, transform: Transform) -> None:
        kind = local_name(element)
        if kind in _NOT_SHAPES or not isinstance(element.tag, str):
            return
        try:
            if kind == "grpSp":
                self._group(element, transform)
            elif kind == "AlternateContent":
                self._alternate_content(element, transform)
            else:
                self._leaf(element, kind, transform)
        except PART_ERRORS as exc:
            self.content.skipped.append((_shape_label(element), describe(exc)))

    def _group(self, group: etree._Element, transform: Transform) -> None:
        properties = group.find(f"{P}grpSpPr")
        inner = transform.into_group(
            properties.find(f"{A}xfrm") if properties is not None else None
        )
        alt = _alt_text(group, "")
        if alt:
            self._place(group, [Block("alt", alt)], transform)
        for child in group:
            self._visit(child, inner)

    def _alternate_content(self, element: etree._Element, transform: Transform) -> None:
        """Read the first mc:Choice; the mc:Fallback only when the choice gave no text (it is
        usually a picture of the same content for older readers)."""
        before = len(self._blocks)
        choice = element.find(f"{MC}Choice")
        if choice is not None:
            for child in choice:
                self._visit(child, transform)
        fallback = element.find(f"{MC}Fallback")
        if len(self._blocks) == before and fallback is not None:
            for child in fallback:
                self._visit(child, transform)

    def _leaf(self, shape: etree._Element, kind: str, transform: Transform) -> None:
        blocks: list[Block] = []
        own_text = ""
        if kind == "sp":
            own_text = text_body(shape.find(f"{P}txBody"))
            if own_text:
                blocks.append(Block("body", own_text))
        elif kind == "graphicFrame":
            blocks += self._graphic_frame(shape)
        elif kind not in ("pic", "cxnSp"):  # a shape kind we do not know: its text, if any
            own_text = text_body(shape)
            if own_text:
                blocks.append(Block("body", own_text))
        alt = _alt_text(shape, own_text)
        if alt:
            blocks.append(Block("alt", alt))
        if self._pictures and kind in ("pic", "sp"):
            fill = f"{P}blipFill/{A}blip" if kind == "pic" else f"{P}spPr/{A}blipFill/{A}blip"
            if (blip := shape.find(fill)) is not None:
                blocks.append(self._picture_block(blip))
        self._place(shape, blocks, transform)

    def _picture_block(self, blip: etree._Element) -> Block:
        """The picture a blip shows; a linked picture (not in the deck) gives no image."""
        rel = self._part.rels.get(blip.get(f"{R}embed", ""))
        if rel is None or rel.is_external:
            return Block("picture")
        part = rel.target_part
        return Block("picture", picture=Picture(part.blob, str(part.partname)))

    def _background_picture(self) -> None:
        blip = xml_of(self._part).find(f"{P}cSld/{P}bg/{P}bgPr/{A}blipFill/{A}blip")
        if blip is not None:
            try:
                self._blocks.append(self._picture_block(blip))
            except PART_ERRORS as exc:
                self.content.skipped.append(("background picture", describe(exc)))

    def _place(self, shape: etree._Element, blocks: list[Block], transform: Transform) -> None:
        if not blocks:
            return
        box = self._box(shape, transform)
        width, height = self._geometry.slide_width, self._geometry.slide_height
        if box is not None and width and height and box.outside(width, height):
            self.content.off_slide_shapes += 1
            return
        for block in blocks:
            block.box = box
        self._blocks += blocks

    def _box(self, shape: etree._Element, transform: Transform) -> Box | None:
        box = xfrm_box(_xfrm(shape), transform)
        if box is None and (placeholder := _placeholder(shape)) is not None:
            return self._geometry.placeholders.box(self._part, placeholder)
        return box

    def _graphic_frame(self, frame: etree._Element) -> list[Block]:
        data = frame.find(f"{A}graphic/{A}graphicData")
        if data is None:
            return []
        uri = data.get("uri", "")
        if uri == _TABLE_URI:
            table = data.find(f"{A}tbl")
            if table is None:
                return []
            rows = [
                [text_body(cell.find(f"{A}txBody")) for cell in row.iterchildren(f"{A}tc")]
                for row in table.iterchildren(f"{A}tr")
            ]
            return [Block("table", table=rows)] if any(any(row) for row in rows) else []
        if uri in _CHART_URIS:
            reference = data.find(f"{C}chart")
            if reference is None:
                reference = data.find(f"{CX}chart")
            text = self._chart(reference.get(f"{R}id", "")) if reference is not None else ""
            return [Block("chart", text)] if text else []
        if uri == _DIAGRAM_URI:
            relation = data.find(f"{DGM}relIds")
            text = self._diagram(relation.get(f"{R}dm", "")) if relation is not None else ""
            return [Block("body", text)] if text else []
        return []  # OLE objects, media: no text of their own (their alt text is read)

    def _chart(self, rel_id: str) -> str:
        rel = self._part.rels.get(rel_id)
        if rel is None or rel.is_external:
            return ""
        return chart_text(xml_of(rel.target_part))

    def _diagram(self, rel_id: str) -> str:
        rel = self._part.rels.get(rel_id)
        if rel_id in self._diagrams_read or rel is None or rel.is_external:
            return ""
        self._diagrams_read.add(rel_id)
        data = xml_of(rel.target_part)
        return "\n".join(text for point in data.iter(f"{DGM}pt") if (text := text_body(point)))

    def _read_unplaced_diagrams(self) -> None:
        """SmartArt whose frame we did not meet (e.g. in markup we do not read)."""
        for rel_id, rel in self._part.rels.items():
            if rel.is_external or not rel.reltype.endswith(_DIAGRAM_DATA_RELTYPE_SUFFIX):
                continue
            try:
                if text := self._diagram(rel_id):
                    self._blocks.append(Block("body", text))
            except PART_ERRORS as exc:
                self.content.skipped.append((f"SmartArt data {rel.target_ref}", describe(exc)))


def _placeholder(shape: etree._Element) -> etree._Element | None:
    return shape.find(f"./*/{P}nvPr/{P}ph")


def _xfrm(shape: etree._Element) -> etree._Element | None:
    kind = local_name(shape)
    if kind == "graphicFrame":
        return shape.find(f"{P}xfrm")
    if kind == "grpSp":
        return shape.find(f"{P}grpSpPr/{A}xfrm")
    return shape.find(f"{P}spPr/{A}xfrm")


def _properties(shape: etree._Element) -> etree._Element | None:
    return shape.find(f"./*/{P}cNvPr")


def _shape_label(shape: etree._Element) -> str:
    properties = _properties(shape)
    if properties is None:
        return f"<{local_name(shape)}>"
    return f"{properties.get('name', '') or local_name(shape)} (id {properties.get('id', '?')})"


def _alt_text(shape: etree._Element, own_text: str) -> str:
    """The shape's alt text (title and description), unless empty or written by PowerPoint."""
    properties = _properties(shape)
    if properties is None:
        return ""
    seen = {single_line(own_text), single_line(properties.get("name", ""))}
    parts = []
    for attribute in ("title", "descr"):
        value = "\n".join(
            line.strip() for line in (properties.get(attribute) or "").splitlines() if line.strip()
        )
        if (
            value
            and single_line(value) not in seen
            and not _FILE_NAME.match(value)
            and not _GENERATED.search(value)
        ):
            seen.add(single_line(value))
            parts.append(value)
    return "\n".join(parts)
