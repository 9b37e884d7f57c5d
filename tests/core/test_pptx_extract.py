"""extract_slides on real decks: built here with python-pptx, or taken from ../shared/corpus."""

from __future__ import annotations

import copy
import os
import random
import re
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.util import Inches

from osmose_dagster.core.errors import (
    ConversionError,
    CorruptDeckError,
    DeckTooLargeError,
    EncryptedDeckError,
    NotAPresentationError,
    StrictOOXMLError,
)
from osmose_dagster.core.extract.deck import extract_slides

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "real"

TITLE_AND_CONTENT, TITLE_ONLY, BLANK = 1, 5, 6
PRESENTATIONML = "application/vnd.openxmlformats-officedocument.presentationml"
MAIN_PRESENTATION = f"{PRESENTATIONML}.presentation.main+xml"


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus absent")
    return CORPUS / name


def textbox(shapes, text: str, left: float, top: float):
    box = shapes.add_textbox(Inches(left), Inches(top), Inches(2), Inches(0.5))
    box.text_frame.text = text
    return box


def save(prs, path: Path) -> Path:
    prs.save(path)
    return path


def rewrite_member(path: Path, member: str, transform) -> None:
    """Rewrite one zip member in place; every other member is copied unchanged."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info, transform(data) if info.filename == member else data)


def simple_deck(path: Path, title: str = "Simple title") -> Path:
    prs = Presentation()
    prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY]).shapes.title.text = title
    return save(prs, path)


# --- what is read --------------------------------------------------------------------------------


def test_title_body_table_and_notes_are_found(tmp_path):
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
    slide.shapes.title.text = "Quarterly results"
    body = slide.placeholders[1].text_frame
    body.text = "Revenue grew"
    body.add_paragraph().text = "Costs fell\vsharply"  # \v is a line break inside the paragraph
    body.add_paragraph().text = "   "
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(5), Inches(4), Inches(1)).table
    for row, texts in enumerate([["Region", "Sales"], ["North", "42"]]):
        for column, text in enumerate(texts):
            table.cell(row, column).text = text
    slide.notes_slide.notes_text_frame.text = "Say thank you"

    [extracted] = extract_slides(save(prs, tmp_path / "deck.pptx"))

    assert extracted.number == 1
    assert extracted.title == "Quarterly results"
    assert extracted.body == ["Revenue grew\nCosts fell\nsharply"]
    assert extracted.tables == [[["Region", "Sales"], ["North", "42"]]]
    assert extracted.notes == "Say thank you"
    assert extracted.hidden is False


def test_slides_come_in_deck_order_and_hidden_ones_are_flagged(tmp_path):
    prs = Presentation()
    for title in ["One", "Two", "Three"]:
        prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY]).shapes.title.text = title
    prs.slides[1].element.set("show", "0")

    slides = extract_slides(save(prs, tmp_path / "deck.pptx"))

    assert [(s.number, s.title, s.hidden) for s in slides] == [
        (1, "One", False),
        (2, "Two", True),
        (3, "Three", False),
    ]
    assert all(s.notes == "" for s in slides)


def test_body_follows_reading_order_not_xml_order(tmp_path):
    prs = Presentation()
    shapes = prs.slides.add_slide(prs.slide_layouts[BLANK]).shapes
    textbox(shapes, "bottom right", left=6, top=5)
    textbox(shapes, "top right", left=6, top=1)
    textbox(shapes, "bottom left", left=1, top=5)
    textbox(shapes, "top left", left=1, top=1)

    [extracted] = extract_slides(save(prs, tmp_path / "deck.pptx"))

    assert extracted.body == ["top left", "top right", "bottom left", "bottom right"]


def test_text_in_nested_groups_is_found_at_the_group_place(tmp_path):
    prs = Presentation()
    shapes = prs.slides.add_slide(prs.slide_layouts[BLANK]).shapes
    textbox(shapes, "below the group", left=1, top=6)
    outer = shapes.add_group_shape()
    inner = outer.shapes.add_group_shape()
    textbox(inner.shapes, "deep second", left=2, top=4)
    textbox(inner.shapes, "deep first", left=2, top=3)
    textbox(outer.shapes, "outer first", left=1, top=2)
    textbox(shapes, "above the group", left=1, top=0.5)

    [extracted] = extract_slides(save(prs, tmp_path / "deck.pptx"))

    assert extracted.body == [
        "above the group",
        "outer first",
        "deep first",
        "deep second",
        "below the group",
    ]


def test_chart_title_series_categories_and_values_become_one_chart_block(tmp_path):
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Sales"
    data = CategoryChartData()
    data.categories = ["East", "West"]
    data.add_series("Revenue", (1.0, 2.0))
    data.add_series("Costs", (0.5, 1.5))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(6), Inches(4), data
    )
    chart = frame.chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Regional revenue"

    [extracted] = extract_slides(save(prs, tmp_path / "deck.pptx"))

    assert extracted.body == []
    assert extracted.charts == [
        "Regional revenue\nRevenue: East 1, West 2\nCosts: East 0.5, West 1.5"
    ]
    assert extracted.text == "Sales\n" + extracted.charts[0]


def test_footer_date_and_slide_number_keep_typed_text_but_not_their_fields(tmp_path):
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
    slide.shapes.title.text = "Title"
    slide.placeholders[1].text_frame.text = "Body"
    furniture = {PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.SLIDE_NUMBER}
    for placeholder in slide.slide_layout.placeholders:
        if placeholder.placeholder_format.type in furniture:  # add_slide does not copy these
            slide.shapes.element.append(copy.deepcopy(placeholder.element))
    for placeholder in slide.placeholders:
        kind = placeholder.placeholder_format.type
        if kind == PP_PLACEHOLDER.FOOTER:
            placeholder.text_frame.text = "Typed footer words"
        elif kind in furniture:  # a field PowerPoint fills in: slide number, date
            paragraph = placeholder.text_frame.paragraphs[0]._p
            field = paragraph.makeelement(
                "{http://schemas.openxmlformats.org/drawingml/2006/main}fld",
                {
                    "id": "{5C4B8F2A-0000-0000-0000-000000000001}",
                    "type": ("slidenum" if kind == PP_PLACEHOLDER.SLIDE_NUMBER else "datetime1"),
                },
            )
            text = field.makeelement("{http://schemas.openxmlformats.org/drawingml/2006/main}t", {})
            text.text = "‹#›" if kind == PP_PLACEHOLDER.SLIDE_NUMBER else "3/11/2026"
            field.append(text)
            paragraph.append(field)

    [extracted] = extract_slides(save(prs, tmp_path / "deck.pptx"))

    assert len([p for p in slide.placeholders if p.placeholder_format.type in furniture]) == 3
    assert extracted.body == ["Body", "Typed footer words"]
    assert "3/11/2026" not in extracted.text and "‹#›" not in extracted.text


@pytest.mark.parametrize(
    ("suffix", "main_type"),
    [
        (".potx", f"{PRESENTATIONML}.template.main+xml"),
        (".ppsx", f"{PRESENTATIONML}.slideshow.main+xml"),
        (".pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"),
        (".potm", "application/vnd.ms-powerpoint.template.macroEnabled.main+xml"),
        (".ppsm", "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml"),
    ],
)
def test_templates_slideshows_and_macro_decks_extract(tmp_path, suffix, main_type):
    deck = simple_deck(tmp_path / f"deck{suffix}", title="Packaged differently")
    rewrite_member(
        deck,
        "[Content_Types].xml",
        lambda xml: xml.replace(MAIN_PRESENTATION.encode(), main_type.encode()),
    )
    with zipfile.ZipFile(deck) as archive:
        assert main_type.encode() in archive.read("[Content_Types].xml")

    assert [s.title for s in extract_slides(deck)] == ["Packaged differently"]


def test_ooxml_content_under_a_ppt_extension_extracts(tmp_path):
    deck = simple_deck(tmp_path / "misnamed.ppt")
    assert [s.title for s in extract_slides(deck)] == ["Simple title"]


def test_smartart_text_comes_from_the_diagram_data_part():
    [extracted] = extract_slides(corpus_file("apache__tika__testppt_diagramdata.pptx"))

    assert extracted.body == ["President\nVP – HR\nManager 1\nVP - Marketing\nManager 1"]


def test_smartart_with_only_placeholder_prompts_yields_no_text():
    # apache__poi__smartart.pptx holds a SmartArt whose nodes are empty ("[Text]" is only a prompt).
    [extracted] = extract_slides(corpus_file("apache__poi__smartart.pptx"))

    assert extracted.body == []


def test_shape_unknown_to_python_pptx_still_gives_its_text():
    deck = corpus_file("docling-project__docling__powerpoint_unrecognized_shape.pptx")
    slides = extract_slides(deck)

    assert "Text in an unrecognized shape" in slides[1].body


def test_slide_that_lost_its_layout_relationship_still_extracts(tmp_path):
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
    slide.shapes.title.text = "Orphan"
    slide.placeholders[1].text_frame.text = "Body without inherited position"
    deck = save(prs, tmp_path / "orphan.pptx")
    layout_rel = re.compile(rb'<Relationship [^>]*/slideLayout"[^>]*/>')
    rewrite_member(deck, "ppt/slides/_rels/slide1.xml.rels", lambda xml: layout_rel.sub(b"", xml))
    with zipfile.ZipFile(deck) as archive:
        assert b"slideLayout" not in archive.read("ppt/slides/_rels/slide1.xml.rels")

    [extracted] = extract_slides(deck)

    assert (extracted.title, extracted.body) == ("Orphan", ["Body without inherited position"])


# --- errors --------------------------------------------------------------------------------------


def assert_raises_naming_file(error_class, path: Path, detail: str = "") -> None:
    with pytest.raises(error_class) as caught:
        extract_slides(path)
    assert type(caught.value) is error_class
    assert path.name in str(caught.value)
    assert detail in str(caught.value)


def test_zero_bytes_is_not_a_presentation(tmp_path):
    empty = tmp_path / "empty.pptx"
    empty.write_bytes(b"")
    assert_raises_naming_file(NotAPresentationError, empty, "empty file")


def test_random_bytes_are_not_a_presentation(tmp_path):
    noise = tmp_path / "noise.pptx"
    noise.write_bytes(b"\x00\x01" + random.Random(0).randbytes(4096))
    assert_raises_naming_file(NotAPresentationError, noise)


def test_zip_that_is_not_ooxml_is_not_a_presentation(tmp_path):
    archive = tmp_path / "photos.pptx"
    with zipfile.ZipFile(archive, "w") as target:
        target.writestr("hello.txt", "hello")
    assert_raises_naming_file(NotAPresentationError, archive, "[Content_Types].xml")


def test_word_document_is_not_a_presentation(tmp_path):
    document = tmp_path / "letter.pptx"
    word_main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    with zipfile.ZipFile(document, "w") as target:
        target.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{word_main}"/></Types>',
        )
        target.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="word/document.xml" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>",
        )
        target.writestr("word/document.xml", "<w:document xmlns:w='urn:w'/>")
    assert_raises_naming_file(NotAPresentationError, document, word_main)


def test_truncated_deck_is_corrupt(tmp_path):
    deck = simple_deck(tmp_path / "cut.pptx")
    deck.write_bytes(deck.read_bytes()[: deck.stat().st_size // 2])
    assert_raises_naming_file(CorruptDeckError, deck)


def test_malformed_slide_xml_is_corrupt(tmp_path):
    deck = simple_deck(tmp_path / "broken.pptx")
    rewrite_member(deck, "ppt/slides/slide1.xml", lambda xml: xml[: len(xml) // 2])
    assert_raises_naming_file(CorruptDeckError, deck, "XMLSyntaxError")


def test_member_declaring_an_absurd_size_is_refused_unread(tmp_path):
    deck = simple_deck(tmp_path / "bomb.pptx")
    data = bytearray(deck.read_bytes())
    end_of_directory = data.rfind(b"PK\x05\x06")
    (directory_start,) = struct.unpack_from("<I", data, end_of_directory + 16)
    assert data[directory_start : directory_start + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, directory_start + 24, 0x7FFF_FFFF)  # uncompressed size: 2 GiB
    deck.write_bytes(bytes(data))
    assert_raises_naming_file(DeckTooLargeError, deck)


@pytest.mark.parametrize(
    "name",
    [
        "dotnet__open-xml-sdk__encrypted_pptx.pptx",  # OLE2 holding an EncryptedPackage stream
        "apache__poi__password_protected-hello.ppt",  # encrypted legacy .ppt
    ],
)
def test_encrypted_decks_raise_encrypted_error(name):
    assert_raises_naming_file(EncryptedDeckError, corpus_file(name))


def test_ole2_file_without_powerpoint_stream_is_not_a_presentation(tmp_path):
    legacy = corpus_file("docling-project__docling__legacy_sample.ppt").read_bytes()
    stream_name = "PowerPoint Document".encode("utf-16-le")
    assert legacy.count(stream_name) == 1
    other = tmp_path / "other.doc"
    other.write_bytes(legacy.replace(stream_name, "WordDocument_______".encode("utf-16-le")))
    assert_raises_naming_file(NotAPresentationError, other, "PowerPoint stream")


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.pptx"
    os.mkfifo(fifo)
    assert_raises_naming_file(NotAPresentationError, fifo, "not a regular file")


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.pptx"):
        extract_slides(tmp_path / "nowhere.pptx")


# --- LibreOffice conversion ----------------------------------------------------------------------


def strict_deck(path: Path) -> Path:
    """A deck whose package relationships use the ISO Strict namespace (enough for detection)."""
    simple_deck(path)
    transitional = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    strict = b"http://purl.oclc.org/ooxml/officeDocument/relationships/"
    rewrite_member(path, "_rels/.rels", lambda xml: xml.replace(transitional, strict))
    return path


def fake_soffice(tmp_path: Path, body: str) -> str:
    script = tmp_path / "soffice"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def copying_soffice(tmp_path: Path, converted: Path) -> str:
    """A stand-in soffice: copies `converted` to '<stem>.pptx' in --outdir, logs its arguments."""
    return fake_soffice(
        tmp_path,
        f'echo "$@" > "{tmp_path}/soffice-args"\n'
        'outdir=""; previous=""\n'
        'for arg in "$@"; do [ "$previous" = "--outdir" ] && outdir="$arg"; previous="$arg"; done\n'
        'name=$(basename "$arg")\n'
        f'cp "{converted}" "$outdir/${{name%.*}}.pptx"\n',
    )


def test_strict_deck_without_libreoffice_raises_strict_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert_raises_naming_file(StrictOOXMLError, strict_deck(tmp_path / "strict.pptx"))


def test_strict_deck_is_converted_with_the_given_soffice(tmp_path):
    """Runs the conversion path end to end with a stand-in soffice that copies a transitional deck.

    It proves the command line (headless, private profile, --outdir) and that the converted file is
    extracted; it does not prove what real LibreOffice writes for a Strict or legacy deck.
    """
    converted = simple_deck(tmp_path / "converted-source.pptx", title="After conversion")
    soffice = copying_soffice(tmp_path, converted)

    slides = extract_slides(strict_deck(tmp_path / "strict.pptx"), soffice=soffice)

    assert [s.title for s in slides] == ["After conversion"]
    arguments = (tmp_path / "soffice-args").read_text()
    assert "--headless" in arguments and "--convert-to pptx" in arguments
    assert "-env:UserInstallation=file:///" in arguments


def test_legacy_ppt_is_converted_with_the_given_soffice(tmp_path):
    """Same stand-in as above, on a real legacy .ppt: proves the OLE2 route reaches conversion."""
    converted = simple_deck(tmp_path / "converted-source.pptx", title="Legacy, converted")
    legacy = corpus_file("docling-project__docling__legacy_sample.ppt")

    slides = extract_slides(legacy, soffice=copying_soffice(tmp_path, converted))

    assert [s.title for s in slides] == ["Legacy, converted"]


def test_failing_conversion_raises_conversion_error(tmp_path):
    soffice = fake_soffice(tmp_path, 'echo "Error: source file could not be loaded" >&2\nexit 1\n')
    with pytest.raises(ConversionError, match=r"strict.pptx.*could not be loaded"):
        extract_slides(strict_deck(tmp_path / "strict.pptx"), soffice=soffice)


def test_conversion_writing_garbage_raises_conversion_error(tmp_path):
    soffice = fake_soffice(
        tmp_path,
        'outdir=""; previous=""\n'
        'for arg in "$@"; do [ "$previous" = "--outdir" ] && outdir="$arg"; previous="$arg"; done\n'
        'echo garbage > "$outdir/strict.pptx"\n',
    )
    with pytest.raises(ConversionError, match=r"strict.pptx"):
        extract_slides(strict_deck(tmp_path / "strict.pptx"), soffice=soffice)


def test_hanging_conversion_is_killed_after_the_timeout(tmp_path):
    soffice = fake_soffice(tmp_path, "sleep 30\n")
    with pytest.raises(ConversionError, match="timed out"):
        extract_slides(
            strict_deck(tmp_path / "strict.pptx"), soffice=soffice, conversion_timeout_s=0.5
        )


def test_missing_soffice_binary_raises_conversion_error(tmp_path):
    with pytest.raises(ConversionError, match="cannot run"):
        extract_slides(strict_deck(tmp_path / "strict.pptx"), soffice=str(tmp_path / "no-soffice"))
