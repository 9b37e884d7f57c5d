"""Deck -> slides: the text of every slide, in reading order.

Accepts any PowerPoint OOXML package (.pptx, .pptm, .potx, .ppsx, ...) whatever its extension;
legacy binary .ppt and ISO Strict decks go through LibreOffice when it is installed; encrypted decks
are opened with a list of passwords when one is given. Every failure is a typed `DeckError` (see
`pptx_sniff` for how files are classified); a deck beyond the `ExtractionLimits` raises
`DeckTooLargeError` naming the limit and the variable that raises it.

Only a file that cannot be opened as a presentation fails. A shape, chart, SmartArt, notes or
comment part that cannot be read is skipped and listed in `DeckExtraction.skipped`; the rest of
the deck is read (slide_reader.py reads the shapes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

from lxml import etree
from pptx.exc import PythonPptxError
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.package import Part, PartFactory
from pptx.package import Package
from pptx.parts.presentation import PresentationPart

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
from osmose_dagster.core.extract.comments import comment_authors, comment_parts, comments_text
from osmose_dagster.core.extract.ocr import DeckPictures, OcrStats
from osmose_dagster.core.extract.ooxml import P, text_body
from osmose_dagster.core.extract.pictures import LINKED, TIME_BUDGET
from osmose_dagster.core.extract.repeated_text import drop_repeated_blocks
from osmose_dagster.core.extract.slides import (
    PART_ERRORS,
    Block,
    DeckGeometry,
    SlideContent,
    describe,
    read_slide,
    xml_of,
)
from osmose_dagster.core.extract.sniff import (
    DEFAULT_CONVERSION_TIMEOUT_S,
    PRESENTATION_MAIN_TYPES,
    ZIP_READ_ERRORS,
    DeckKind,
    convert_to_pptx,
    decrypt_deck,
    find_soffice,
    slides_over,
    sniff_deck,
)
from osmose_dagster.core.records import Slide
from osmose_dagster.core.settings import ExtractionLimits, OcrSettings

__all__ = [
    "DeckExtraction",
    "SkippedPart",
    "extract_deck",
    "extract_slides",
    "ocr_budget_warning",
]

# python-pptx maps the presentation, macro-enabled, template and slideshow main parts to
# PresentationPart, but not the macro-enabled template and slideshow ones; teach it those too, so
# that every main type we accept loads as a presentation without rewriting the package.
for _content_type in PRESENTATION_MAIN_TYPES:
    PartFactory.part_type_for.setdefault(_content_type, PresentationPart)
# Charts are read from their XML by pptx_charts, never through python-pptx's chart model; loaded
# as plain parts they are parsed only when read, so a chart part with malformed XML is skipped
# (reported) instead of failing the whole package at load. Decks python-pptx *writes* are not
# affected: add_chart creates its chart part directly.
PartFactory.part_type_for[CT.DML_CHART] = Part

# What python-pptx raises on packages that are broken inside (bad XML, dangling references, ...).
_LOAD_ERRORS = (
    PythonPptxError,
    KeyError,
    ValueError,
    IndexError,
    etree.LxmlError,
    *ZIP_READ_ERRORS,
)


@dataclass(frozen=True)
class SkippedPart:
    """A part of the deck that could not be read and was left out; the rest was read."""

    slide: int | None  # 1-based; None for a part of the whole deck (e.g. the comment authors)
    part: str  # the shape ("Chart 3 (id 5)") or the package part ("/ppt/comments/comment1.xml")
    cause: str  # "<exception type>: <message>"

    def __str__(self) -> str:
        where = f"slide {self.slide}" if self.slide is not None else "deck"
        return f"{where}: {self.part} skipped ({self.cause})"


@dataclass(frozen=True)
class DeckExtraction:
    slides: list[Slide]
    skipped: list[SkippedPart] = field(default_factory=list)
    off_slide_shapes: int = 0  # shapes with text placed entirely outside the slide: left out
    repeated_blocks_dropped: int = 0  # repeats of text found on most slides (footers), left out
    ocr: OcrStats | None = None  # what the pictures gave; None when OCR is off
    # The first picture left unread because the deck's OCR time budget was spent, if any.
    ocr_budget_exhausted_at: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """What the deck gave, for a run's metadata."""
        return {
            "slides": len(self.slides),
            "tables": sum(len(slide.tables) for slide in self.slides),
            "charts": sum(len(slide.charts) for slide in self.slides),
            "comments": sum(len(slide.comments) for slide in self.slides),
            "alt_texts": sum(len(slide.alt_text) for slide in self.slides),
            "picture_texts": sum(len(slide.pictures) for slide in self.slides),
            "parts_skipped": len(self.skipped),
            "off_slide_shapes": self.off_slide_shapes,
            "repeated_blocks_dropped": self.repeated_blocks_dropped,
        }


def ocr_budget_warning(extraction: DeckExtraction) -> str:
    """What to say when the deck's OCR time budget ran out (the run log, `osmose extract`)."""
    skipped = extraction.ocr.skipped.get(TIME_BUDGET, 0) if extraction.ocr else 0
    return (
        f"OCR time budget spent: {skipped} picture(s) from {extraction.ocr_budget_exhausted_at} "
        "on were not read (raise OSMOSE_OCR_BUDGET_S to read them)"
    )


def extract_slides(
    path: str | Path,
    *,
    soffice: str | None = None,
    conversion_timeout_s: float = DEFAULT_CONVERSION_TIMEOUT_S,
    limits: ExtractionLimits | None = None,
    passwords: Sequence[str] = (),
    ocr: OcrSettings | None = None,
) -> list[Slide]:
    """Every slide of the deck at `path`, in deck order (see `extract_deck`)."""
    return extract_deck(
        path,
        soffice=soffice,
        conversion_timeout_s=conversion_timeout_s,
        limits=limits,
        passwords=passwords,
        ocr=ocr,
    ).slides


def extract_deck(
    path: str | Path,
    *,
    soffice: str | None = None,
    conversion_timeout_s: float = DEFAULT_CONVERSION_TIMEOUT_S,
    limits: ExtractionLimits | None = None,
    passwords: Sequence[str] = (),
    ocr: OcrSettings | None = None,
) -> DeckExtraction:
    """Every slide of the deck at `path`, in deck order, with the parts that were skipped.

    `soffice` is the LibreOffice binary used for legacy .ppt and Strict OOXML decks; None looks
    for `soffice` / `libreoffice` on PATH. `limits` bound what is read (None: the defaults);
    `passwords` are tried in turn on an encrypted deck (see settings.read_passwords); with `ocr`
    (and `ocr.enabled`), the text of the slides' pictures is read with Tesseract (ocr.py) into
    each slide's `pictures`. Raises a
    `DeckError` subclass naming the file and the cause when the deck cannot be read
    (FileNotFoundError when there is no file).
    """
    path = Path(path)
    limits = limits or ExtractionLimits()
    options = _Options(limits, soffice, conversion_timeout_s, ocr if ocr and ocr.enabled else None)
    kind = sniff_deck(path, limits, encrypted_ok=True)
    if kind.encrypted:
        return _extract_encrypted(path, kind, passwords, options)
    return _extract_kind(path, kind, options)


@dataclass(frozen=True)
class _Options:
    limits: ExtractionLimits
    soffice: str | None
    timeout_s: float
    ocr: OcrSettings | None


def _extract_kind(path: Path, kind: DeckKind, options: _Options) -> DeckExtraction:
    if kind is DeckKind.OOXML:
        return _extract_ooxml(path, options)
    return _extract_converted(path, kind, options, options.soffice or find_soffice())


def _extract_encrypted(
    path: Path,
    kind: DeckKind,
    passwords: Sequence[str],
    options: _Options,
) -> DeckExtraction:
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
            inner = sniff_deck(decrypted, options.limits)
            return _extract_kind(decrypted, inner, options)
        except DeckError as exc:
            raise type(exc)(path, exc.detail) from None


def _extract_converted(
    path: Path, kind: DeckKind, options: _Options, soffice: str | None
) -> DeckExtraction:
    if soffice is None:
        raise LegacyFormatError(path) if kind is DeckKind.LEGACY_PPT else StrictOOXMLError(path)
    with TemporaryDirectory(prefix="osmose-convert-") as workdir:
        converted = convert_to_pptx(path, soffice, Path(workdir), timeout_s=options.timeout_s)
        try:
            if sniff_deck(converted, options.limits) is not DeckKind.OOXML:
                raise ConversionError(path, "LibreOffice did not write a transitional .pptx")
            return _extract_ooxml(converted, options)
        except ConversionError:
            raise
        except DeckTooLargeError as exc:  # a limit, not a failed conversion: say which
            raise DeckTooLargeError(path, exc.detail) from None
        except DeckError as exc:
            raise ConversionError(path, f"its output is unreadable: {exc.cause}") from exc


def _extract_ooxml(path: Path, options: _Options) -> DeckExtraction:
    limits = options.limits
    presentation = _open_presentation(path)
    try:
        count = len(presentation.slides)
        if count > limits.max_slides:  # before any slide is read
            raise DeckTooLargeError(path, slides_over(count, limits.max_slides))
        pictures = DeckPictures(options.ocr) if options.ocr is not None else None
        reader = _DeckReader(presentation, pictures)
        for number, slide in enumerate(presentation.slides, start=1):
            characters = len(reader.read(number, slide).text)
            if characters > limits.max_slide_chars:
                raise DeckTooLargeError(
                    path,
                    f"slide {number} holds {characters:,} characters of text, over the limit of "
                    f"{limits.max_slide_chars:,}; raise OSMOSE_MAX_SLIDE_CHARS to accept it",
                )
        return reader.result()
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


@dataclass
class _SlideParts:
    number: int
    content: SlideContent
    notes: str
    comments: list[str]
    hidden: bool

    def slide(self) -> Slide:
        body: list[str] = []
        tables: list[list[list[str]]] = []
        charts: list[str] = []
        alt_text: list[str] = []
        pictures: list[str] = []
        lists = {"body": body, "chart": charts, "alt": alt_text}
        order: list[tuple[str, int]] = []
        for block in self.content.blocks:
            if block.kind == "picture":  # after the slide's own text, not in its reading order
                pictures.append(block.text)
            elif block.kind == "table":
                order.append(("table", len(tables)))
                tables.append(block.table or [])
            else:
                order.append((block.kind, len(lists[block.kind])))
                lists[block.kind].append(block.text)
        return Slide(
            number=self.number,
            title=self.content.title,
            body=body,
            tables=tables,
            notes=self.notes,
            hidden=self.hidden,
            charts=charts,
            alt_text=alt_text,
            comments=self.comments,
            reading_order=order,
            pictures=pictures,
        )


class _DeckReader:
    """Reads a deck's slides one by one, then drops text repeated on most of them."""

    def __init__(self, presentation, pictures: DeckPictures | None = None) -> None:
        self._presentation_part = presentation.part
        self._pictures = pictures
        self._geometry = DeckGeometry(
            _int_or_none(presentation.slide_width), _int_or_none(presentation.slide_height)
        )
        self._slides: list[_SlideParts] = []
        self._skipped: list[SkippedPart] = []
        self._authors: dict[str, str] | None = None

    def read(self, number: int, slide) -> Slide:
        """Read one slide; the Slide returned is before repeated text is dropped."""
        part = slide.part
        try:
            content = read_slide(part, self._geometry, pictures=self._pictures is not None)
        except PART_ERRORS as exc:  # beyond any one shape: the slide's own XML
            content = SlideContent(skipped=[("slide", describe(exc))])
        if self._pictures is not None:
            content.blocks = [block for block in content.blocks if self._with_text(block)]
        self._skipped += [SkippedPart(number, what, cause) for what, cause in content.skipped]
        parts = _SlideParts(
            number,
            content,
            self._notes(number, part),
            self._comments(number, part),
            slide.element.get("show") in ("0", "false"),
        )
        self._slides.append(parts)
        return parts.slide()

    def _with_text(self, block: Block) -> bool:
        """False for a picture block that gave no text; reads the picture's text into it."""
        if block.kind != "picture":
            return True
        assert self._pictures is not None
        if block.picture is None:
            self._pictures.skip(LINKED)
            return False
        block.text = self._pictures.read(block.picture)
        block.picture = None  # its bytes are not needed any more
        return bool(block.text)

    def result(self) -> DeckExtraction:
        dropped = drop_repeated_blocks([parts.content for parts in self._slides])
        pictures = self._pictures
        return DeckExtraction(
            slides=[parts.slide() for parts in self._slides],
            skipped=self._skipped,
            off_slide_shapes=sum(parts.content.off_slide_shapes for parts in self._slides),
            repeated_blocks_dropped=dropped,
            ocr=pictures.stats if pictures is not None else None,
            ocr_budget_exhausted_at=pictures.budget_exhausted_at if pictures else None,
        )

    def _notes(self, number: int, slide_part) -> str:
        notes_part = next(
            (
                rel.target_part
                for rel in slide_part.rels.values()
                if not rel.is_external and rel.reltype.endswith("/notesSlide")
            ),
            None,
        )
        if notes_part is None:
            return ""
        try:
            return _notes_text(xml_of(notes_part))
        except PART_ERRORS as exc:
            self._skipped.append(SkippedPart(number, str(notes_part.partname), describe(exc)))
            return ""

    def _comments(self, number: int, slide_part) -> list[str]:
        comments: list[str] = []
        for part in comment_parts(slide_part):
            try:
                comments += comments_text(xml_of(part), self._comment_authors())
            except PART_ERRORS as exc:
                self._skipped.append(SkippedPart(number, str(part.partname), describe(exc)))
        return comments

    def _comment_authors(self) -> dict[str, str]:
        if self._authors is None:
            try:
                self._authors = comment_authors(self._presentation_part, xml_of)
            except PART_ERRORS as exc:
                self._skipped.append(SkippedPart(None, "comment authors", describe(exc)))
                self._authors = {}
        return self._authors


def _notes_text(notes: etree._Element) -> str:
    """The text of the notes body placeholder (not the slide image, header or page number)."""
    tree = notes.find(f"{P}cSld/{P}spTree")
    if tree is None:
        return ""
    for shape in tree.iter(f"{P}sp"):
        placeholder = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
        if placeholder is not None and placeholder.get("type") == "body":
            return text_body(shape.find(f"{P}txBody"))
    return ""


def _int_or_none(value) -> int | None:
    return int(value) if value is not None else None
