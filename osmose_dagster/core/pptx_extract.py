"""Deck -> slides: the text of every slide, in reading order.

Accepts any PowerPoint OOXML package (.pptx, .pptm, .potx, .ppsx, ...) whatever its extension;
legacy binary .ppt and ISO Strict decks go through LibreOffice when it is installed; encrypted decks
are opened with a list of passwords when one is given. Every failure is a typed `DeckError` (see
`pptx_sniff` for how files are classified); a deck beyond the `ExtractionLimits` raises
`DeckTooLargeError` naming the limit and the variable that raises it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from lxml import etree
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.exc import PythonPptxError
from pptx.opc.package import PartFactory
from pptx.package import Package
from pptx.parts.presentation import PresentationPart
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape

from osmose_dagster.core.errors import (
    ConversionError,
    CorruptDeckError,
    DeckError,
    DeckTooLargeError,
    EncryptedDeckError,
    LegacyFormatError,
    NotAPresentationError,
    StrictOOXMLError,
)
from osmose_dagster.core.pptx_sniff import (
    DEFAULT_CONVERSION_TIMEOUT_S,
    PRESENTATION_MAIN_TYPES,
    ZIP_READ_ERRORS,
    DeckKind,
    convert_to_pptx,
    decrypt_deck,
    find_soffice,
    safe_xml_parser,
    slides_over,
    sniff_deck,
)
from osmose_dagster.core.records import Slide
from osmose_dagster.core.settings import ExtractionLimits

__all__ = ["extract_slides"]

# python-pptx maps the presentation, macro-enabled, template and slideshow main parts to
# PresentationPart, but not the macro-enabled template and slideshow ones; teach it those too, so
# that every main type we accept loads as a presentation without rewriting the package.
for _content_type in PRESENTATION_MAIN_TYPES:
    PartFactory.part_type_for.setdefault(_content_type, PresentationPart)

_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_DGM = "{http://schemas.openxmlformats.org/drawingml/2006/diagram}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_DIAGRAM_DATA_RELTYPE_SUFFIX = "/diagramData"

_TITLE_PLACEHOLDERS = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE}
_FURNITURE_PLACEHOLDERS = {
    PP_PLACEHOLDER.SLIDE_NUMBER,
    PP_PLACEHOLDER.DATE,
    PP_PLACEHOLDER.FOOTER,
    PP_PLACEHOLDER.HEADER,
}

# What python-pptx raises on packages that are broken inside (bad XML, dangling references, ...).
_LOAD_ERRORS = (
    PythonPptxError,
    KeyError,
    ValueError,
    IndexError,
    etree.LxmlError,
    *ZIP_READ_ERRORS,
)


def extract_slides(
    path: str | Path,
    *,
    soffice: str | None = None,
    conversion_timeout_s: float = DEFAULT_CONVERSION_TIMEOUT_S,
    limits: ExtractionLimits | None = None,
    passwords: Sequence[str] = (),
) -> list[Slide]:
    """Every slide of the deck at `path`, in deck order.

    `soffice` is the LibreOffice binary used for legacy .ppt and Strict OOXML decks; None looks
    for `soffice` / `libreoffice` on PATH. `limits` bound what is read (None: the defaults);
    `passwords` are tried in turn on an encrypted deck (see settings.read_passwords). Raises a
    `DeckError` subclass naming the file and the cause when the deck cannot be read
    (FileNotFoundError when there is no file).
    """
    path = Path(path)
    limits = limits or ExtractionLimits()
    kind = sniff_deck(path, limits, encrypted_ok=True)
    if kind.encrypted:
        return _extract_encrypted(path, kind, passwords, limits, soffice, conversion_timeout_s)
    return _extract_kind(path, kind, limits, soffice, conversion_timeout_s)


def _extract_kind(
    path: Path, kind: DeckKind, limits: ExtractionLimits, soffice: str | None, timeout_s: float
) -> list[Slide]:
    if kind is DeckKind.OOXML:
        return _extract_ooxml(path, limits)
    return _extract_converted(path, kind, limits, soffice or find_soffice(), timeout_s)


def _extract_encrypted(
    path: Path,
    kind: DeckKind,
    passwords: Sequence[str],
    limits: ExtractionLimits,
    soffice: str | None,
    timeout_s: float,
) -> list[Slide]:
    """Decrypt into a private temporary folder (mode 0700, removed afterwards), then extract.

    Errors name the original file; no password is ever part of a message."""
    if kind is DeckKind.ENCRYPTED_PPT:
        # msoffcrypto's decrypted .ppt still reads as encrypted (its crypt records stay), and
        # LibreOffice would need the password itself: not supported, say what to do instead.
        raise EncryptedDeckError(
            path,
            f"{kind.described}; passwords are tried on encrypted .pptx/.pptm/.potx/.ppsx decks "
            "only: save this one without a password, or as .pptx",
        )
    if not passwords:
        raise EncryptedDeckError(
            path,
            f"{kind.described}; set OSMOSE_DECK_PASSWORDS_FILE to a file of passwords to try",
        )
    with TemporaryDirectory(prefix="osmose-decrypt-") as workdir:
        decrypted = Path(workdir) / path.name  # same name: messages about it name the deck
        if not decrypt_deck(path, passwords, decrypted):
            count = len(passwords)
            raise EncryptedDeckError(
                path,
                f"{kind.described}; none of the {count} password{'s' if count != 1 else ''} "
                "configured in OSMOSE_DECK_PASSWORDS_FILE opened it",
            )
        try:
            inner = sniff_deck(decrypted, limits)
            return _extract_kind(decrypted, inner, limits, soffice, timeout_s)
        except DeckError as exc:
            raise type(exc)(path, exc.detail) from None


def _extract_converted(
    path: Path, kind: DeckKind, limits: ExtractionLimits, soffice: str | None, timeout_s: float
) -> list[Slide]:
    if soffice is None:
        raise LegacyFormatError(path) if kind is DeckKind.LEGACY_PPT else StrictOOXMLError(path)
    with TemporaryDirectory(prefix="osmose-convert-") as workdir:
        converted = convert_to_pptx(path, soffice, Path(workdir), timeout_s=timeout_s)
        try:
            if sniff_deck(converted, limits) is not DeckKind.OOXML:
                raise ConversionError(path, "LibreOffice did not write a transitional .pptx")
            return _extract_ooxml(converted, limits)
        except ConversionError:
            raise
        except DeckTooLargeError as exc:  # a limit, not a failed conversion: say which
            raise DeckTooLargeError(path, exc.detail) from None
        except DeckError as exc:
            raise ConversionError(path, f"its output is unreadable: {exc.cause}") from exc


def _extract_ooxml(path: Path, limits: ExtractionLimits) -> list[Slide]:
    presentation = _open_presentation(path)
    try:
        count = len(presentation.slides)
        if count > limits.max_slides:  # before any slide is read
            raise DeckTooLargeError(path, slides_over(count, limits.max_slides))
        slides = []
        inherited: dict = {}  # positions of layout placeholders, shared by the deck's slides
        for number, slide in enumerate(presentation.slides, start=1):
            slides.append(_read_slide(slide, number, inherited))
            characters = len(slides[-1].text)
            if characters > limits.max_slide_chars:
                raise DeckTooLargeError(
                    path,
                    f"slide {number} holds {characters:,} characters of text, over the limit of "
                    f"{limits.max_slide_chars:,}; raise OSMOSE_MAX_SLIDE_CHARS to accept it",
                )
        return slides
    except _LOAD_ERRORS as exc:
        raise CorruptDeckError(path, _describe(exc)) from exc


def _open_presentation(path: Path):
    try:
        main_part = Package.open(str(path)).main_document_part
    except _LOAD_ERRORS as exc:
        raise CorruptDeckError(path, _describe(exc)) from exc
    if not isinstance(main_part, PresentationPart):
        raise NotAPresentationError(path, f"main part is {main_part.content_type}")
    return main_part.presentation


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _read_slide(slide, number: int, inherited: dict) -> Slide:
    reader = _SlideReader(slide.part, inherited)
    title_shape = _title_shape(slide.shapes)
    title_element = title_shape.element if title_shape is not None else None
    reader.read_shapes(shape for shape in slide.shapes if shape.element is not title_element)
    reader.read_unplaced_diagrams()
    return Slide(
        number=number,
        title=_single_line(_shape_text(title_shape)) if title_shape is not None else "",
        body=reader.body,
        tables=reader.tables,
        notes=_notes_text(slide),
        hidden=slide.element.get("show") in ("0", "false"),
    )


class _SlideReader:
    """Collects one slide's body blocks and tables while walking its shapes in reading order."""

    def __init__(self, slide_part, inherited: dict):
        self._part = slide_part
        self._inherited = inherited
        self._diagrams_read: set[str] = set()
        self.body: list[str] = []
        self.tables: list[list[list[str]]] = []

    def read_shapes(self, shapes: Iterable) -> None:
        for shape in _in_reading_order(shapes, self._inherited):
            try:
                self._read_shape(shape)
            except NotImplementedError:  # python-pptx meets a shape kind it does not model
                self._add(_xml_text(shape.element))

    def read_unplaced_diagrams(self) -> None:
        """SmartArt whose frame we did not meet (e.g. hidden in markup python-pptx skips)."""
        for rel_id, rel in self._part.rels.items():
            if not rel.is_external and rel.reltype.endswith(_DIAGRAM_DATA_RELTYPE_SUFFIX):
                self._read_diagram_data(rel_id)

    def _read_shape(self, shape) -> None:
        if isinstance(shape, GroupShape):
            self.read_shapes(shape.shapes)
        elif _placeholder_type(shape) in _FURNITURE_PLACEHOLDERS:
            return
        elif isinstance(shape, GraphicFrame):
            self._read_graphic_frame(shape)
        elif shape.has_text_frame:
            self._add(_shape_text(shape))

    def _read_graphic_frame(self, frame: GraphicFrame) -> None:
        if frame.has_table:
            table = [[_cell_text(cell) for cell in row.cells] for row in frame.table.rows]
            if any(any(row) for row in table):
                self.tables.append(table)
        elif frame.has_chart:
            self._add(_chart_text(frame))
        else:
            relation = next(frame.element.iter(f"{_DGM}relIds"), None)
            if relation is not None:
                self._read_diagram_data(relation.get(f"{_R}dm", ""))
            # other frames (OLE objects, media) hold no text of their own

    def _read_diagram_data(self, rel_id: str) -> None:
        rel = self._part.rels.get(rel_id)
        if rel_id in self._diagrams_read or rel is None or rel.is_external:
            return
        self._diagrams_read.add(rel_id)
        data = etree.fromstring(rel.target_part.blob, parser=safe_xml_parser())
        self._add("\n".join(text for point in data.iter(f"{_DGM}pt") if (text := _xml_text(point))))

    def _add(self, block: str) -> None:
        if block:
            self.body.append(block)


def _in_reading_order(shapes: Iterable, inherited: dict) -> list:
    """Top to bottom, then left to right; shapes without a position last, in XML order."""
    placed, unplaced = [], []
    for index, shape in enumerate(shapes):
        top, left = _position(shape, inherited)
        if top is None or left is None:
            unplaced.append(shape)
        else:
            placed.append((top, left, index, shape))
    placed.sort(key=lambda item: item[:3])
    return [item[3] for item in placed] + unplaced


def _position(shape, inherited: dict) -> tuple[int | None, int | None]:
    """`inherited` keeps the position of each layout placeholder once found: python-pptx looks the
    layout placeholder up again for every `top` and `left` of a slide placeholder that has no
    position of its own, which was 40% of extraction time."""
    try:
        if shape.is_placeholder and shape.element.xfrm is None:
            key = (shape.part.slide_layout.part.partname, shape.placeholder_format.idx)
            if key not in inherited:
                inherited[key] = (shape.top, shape.left)
            return inherited[key]
        return shape.top, shape.left
    # malformed or unmodelled xfrm; a placeholder whose layout (to inherit from) is missing
    except (ValueError, KeyError, AttributeError, NotImplementedError):
        return None, None


def _title_shape(shapes):
    titles = (shape for shape in shapes if _placeholder_type(shape) in _TITLE_PLACEHOLDERS)
    return next(titles, None)


def _placeholder_type(shape):
    if not shape.is_placeholder:
        return None
    try:
        return shape.placeholder_format.type
    except ValueError:  # a placeholder type this schema does not know
        return None


def _cell_text(cell) -> str:
    return _paragraphs_text(cell.text_frame.paragraphs)


def _shape_text(shape) -> str:
    return _paragraphs_text(shape.text_frame.paragraphs) if shape.has_text_frame else ""


def _paragraphs_text(paragraphs: Iterable) -> str:
    # python-pptx renders a line break (a:br) inside a paragraph as a vertical tab.
    lines = (paragraph.text.replace("\v", "\n").strip() for paragraph in paragraphs)
    return "\n".join(line for line in lines if line)


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _xml_text(element) -> str:
    """Text of every a:p below `element`, one line per paragraph: the fallback for odd shapes."""
    lines = (
        "".join(t.text or "" for t in paragraph.iter(f"{_A}t")).strip()
        for paragraph in element.iter(f"{_A}p")
    )
    return "\n".join(line for line in lines if line)


def _chart_text(frame: GraphicFrame) -> str:
    """'Chart: <title> — series: A, B — categories: x, y', leaving out the parts a chart lacks."""
    try:
        chart = frame.chart
    except (KeyError, AttributeError):  # the chart part is missing, or is no chart
        return ""
    title = _paragraphs_text(chart.chart_title.text_frame.paragraphs) if chart.has_title else ""
    series = list(dict.fromkeys(s.name for plot in chart.plots for s in plot.series if s.name))
    categories = list(_category_labels(chart))
    parts = [f"Chart: {_single_line(title)}" if title else "Chart"]
    if series:
        parts.append("series: " + ", ".join(series))
    if categories:
        parts.append("categories: " + ", ".join(categories))
    return " — ".join(parts) if len(parts) > 1 or title else ""


def _category_labels(chart) -> Iterator[str]:
    plots = chart.plots
    if len(plots):
        for category in plots[0].categories:
            if label := str(category).strip():
                yield label


def _notes_text(slide) -> str:
    if not slide.has_notes_slide:  # asking for notes_slide would create one
        return ""
    frame = slide.notes_slide.notes_text_frame  # the notes body, not the slide image placeholder
    return _paragraphs_text(frame.paragraphs) if frame is not None else ""
