"""Text inside slide pictures, read by the real Tesseract (Debian's tessdata) from pictures these
tests render: it lands on its own slide after the slide's text, each distinct picture is read once
per deck and once across ingests (the cache), and hostile pictures cost only themselves."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from osmose_dagster.core.errors import ConfigError, DeckError
from osmose_dagster.core.extract import extract_deck, ocr_budget_warning
from osmose_dagster.core.settings import OcrSettings, Settings
from tests.support.paths import CORPUS, subprocess_env
from tests.support.pictures import KINDS, PictureSlide, draw_text, encoded, write_picture_deck

NO_CACHE = OcrSettings(cache_dir=None)


def osmose(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "osmose_dagster.cli", *args],
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _words(text: str) -> set[str]:
    return {word.strip(".,;:") for word in text.split()}


def test_words_of_each_picture_land_on_their_own_slide_after_its_text(tmp_path):
    cases = {  # slide title -> (what the picture says, how it is drawn)
        "Dark on light": ("quarterly revenue forecast", "dark_on_light_24px"),
        "JPEG": ("warehouse shipping invoice", "jpeg_q50"),
        "Light on dark": ("network latency dashboard", "light_on_dark"),
        "Transparent": ("security incident response", "transparent_png"),
        "White logo": ("Contoso Pharmaceuticals", "transparent_light_ink"),  # made for dark slides
        "Small text": ("capacity planning storage", "text_12px"),
        "French": ("les élèves préfèrent le château", "dark_on_light_24px"),
        "German": ("Größe der Übersicht für Straßen", "jpeg_q50"),
    }
    slides = [
        PictureSlide(title, [KINDS[kind]([words], 0)], body=f"Body of {title}")
        for title, (words, kind) in cases.items()
    ]
    deck = write_picture_deck(tmp_path / "pictures.pptx", slides)

    extraction = extract_deck(deck, ocr=NO_CACHE)

    assert len(extraction.slides) == len(cases)
    for slide, (title, (words, _)) in zip(extraction.slides, cases.items()):
        read = " ".join(slide.pictures)
        assert _words(words) <= _words(read), (title, read)
        others = set().union(*(_words(w) for t, (w, _) in cases.items() if t != title))
        assert not (_words(read) - _words(words)) & others, (title, read)
        assert slide.text.startswith(f"{title}\nBody of {title}\n"), slide.text
        assert slide.text.endswith(read)
    assert extraction.ocr is not None and extraction.ocr.read == len(cases)
    assert extraction.counts["picture_texts"] == len(cases)


def test_without_ocr_a_picture_adds_nothing(tmp_path):
    picture = KINDS["dark_on_light_24px"](["quarterly revenue forecast"], 0)
    deck = write_picture_deck(tmp_path / "one.pptx", [PictureSlide("Revenue", [picture])])

    for extraction in (extract_deck(deck), extract_deck(deck, ocr=OcrSettings(enabled=False))):
        assert extraction.slides[0].text == "Revenue"
        assert extraction.ocr is None


def test_a_picture_repeated_in_a_deck_is_read_once_and_a_logo_kept_once(tmp_path):
    logo = KINDS["dark_on_light_24px"](["Northwind Traders"], 1)
    diagram = KINDS["screenshot_grid"](["storage backup contract"], 0)
    slides = [
        PictureSlide(f"Slide {n}", [logo, diagram] if n in (2, 5) else [logo]) for n in range(1, 7)
    ]
    deck = write_picture_deck(tmp_path / "logo.pptx", slides)

    extraction = extract_deck(deck, ocr=NO_CACHE)

    stats = extraction.ocr
    assert stats is not None
    assert (stats.read, stats.repeats) == (2, 6)  # 8 pictures shown, 2 distinct
    with_logo = [s.number for s in extraction.slides if "Northwind" in " ".join(s.pictures)]
    assert with_logo == [1]  # on every slide: kept once, like a footer
    with_diagram = [s.number for s in extraction.slides if "contract" in " ".join(s.pictures)]
    assert with_diagram == [2, 5]  # on two slides of six: on both


def test_pictures_read_once_are_taken_from_the_cache_next_time(tmp_path):
    first = KINDS["dark_on_light_24px"](["training model accuracy"], 0)
    second = KINDS["light_on_dark"](["partner region sales"], 0)
    settings = OcrSettings(cache_dir=tmp_path / "ocr")
    deck = write_picture_deck(tmp_path / "v1.pptx", [PictureSlide("One", [first])])
    before = extract_deck(deck, ocr=settings)
    changed = write_picture_deck(
        tmp_path / "v2.pptx", [PictureSlide("One", [first]), PictureSlide("Two", [second])]
    )

    after = extract_deck(changed, ocr=settings)

    assert before.ocr is not None and after.ocr is not None
    assert (before.ocr.read, before.ocr.from_cache) == (1, 0)
    assert (after.ocr.read, after.ocr.from_cache) == (1, 1)  # only the new picture is read
    assert after.slides[0].pictures == before.slides[0].pictures
    assert "sales" in after.slides[1].pictures[0]
    assert any((tmp_path / "ocr").rglob("*.json"))


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height pixels, with one row of data: a bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def _sixteen_bit_png(words: str) -> bytes:
    image = draw_text([words], size=26, mode="L").point(lambda v: v * 257, "I")
    return encoded(image.convert("I;16"))


def _cmyk_jpeg(words: str) -> bytes:
    return KINDS["cmyk_jpeg"]([words], 0)


def _replace_media(deck: Path, replacements: dict[int, bytes]) -> None:
    """Put other bytes in the deck's pictures (by their order in it), as a hostile file would."""
    with zipfile.ZipFile(deck) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    media = [info.filename for info, _ in members if info.filename.startswith("ppt/media/")]
    media.sort(key=lambda name: int("".join(c for c in name if c.isdigit()) or 0))
    with zipfile.ZipFile(deck, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            if info.filename in media:
                data = replacements.get(media.index(info.filename), data)
            target.writestr(info, data)


def test_hostile_pictures_are_skipped_and_counted_and_the_deck_is_read(tmp_path):
    placeholder = KINDS["dark_on_light_24px"]
    hostile = {
        0: _png_claiming(100_000, 100_000),  # 10 gigapixels declared: never decoded
        1: encoded(Image.new("RGB", (120, 80), (255, 255, 255)))[:60],  # truncated
        2: b"\x01\x00\x00\x00" + b"\x00" * 200,  # an EMF
        3: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><text>x</text></svg>',
        4: b"not a picture at all, just bytes " * 10,
        5: encoded(Image.new("RGB", (16, 16), (0, 0, 0))),  # an icon
        6: _sixteen_bit_png("sixteen bit grayscale"),
        7: _cmyk_jpeg("printed brochure colours"),
        8: encoded(draw_text(["scanned tiff page"], size=26), "TIFF"),
        9: encoded(draw_text(["animated gif banner"], size=26).convert("P"), "GIF"),
    }
    slides = [
        PictureSlide(f"Slide {n}", [placeholder([f"placeholder number {n}"], 0)])
        for n in range(len(hostile))
    ]
    deck = write_picture_deck(tmp_path / "hostile.pptx", slides)
    _replace_media(deck, hostile)

    extraction = extract_deck(deck, ocr=NO_CACHE)

    assert [slide.title for slide in extraction.slides] == [f"Slide {n}" for n in range(10)]
    assert extraction.skipped == []  # the deck's own parts are all read
    stats = extraction.ocr
    assert stats is not None
    assert dict(stats.skipped) == {
        "too_large": 1,
        "unreadable": 1,
        "unsupported_format": 3,
        "too_small": 1,
    }
    assert stats.read == 4  # converted: 16-bit PNG, CMYK JPEG, TIFF, palette GIF
    assert "sixteen bit grayscale" in " ".join(extraction.slides[6].pictures)
    assert "printed brochure" in " ".join(extraction.slides[7].pictures)
    assert "scanned tiff page" in " ".join(extraction.slides[8].pictures)
    assert "animated gif banner" in " ".join(extraction.slides[9].pictures)
    assert not any(slide.pictures for slide in extraction.slides[:6])


def test_when_the_time_budget_is_spent_the_rest_is_skipped_and_said(tmp_path):
    pictures = [KINDS["dark_on_light_24px"]([f"budget slide {n}"], 0) for n in range(3)]
    deck = write_picture_deck(tmp_path / "budget.pptx", [PictureSlide("Budget", pictures)])

    extraction = extract_deck(deck, ocr=OcrSettings(cache_dir=None, budget_s=0))

    assert extraction.ocr is not None and extraction.ocr.skipped == {"time_budget": 3}
    assert extraction.slides[0].text == "Budget"
    warning = ocr_budget_warning(extraction)
    assert "3 picture(s)" in warning and "/ppt/media/image1.png" in warning
    assert "OSMOSE_OCR_BUDGET_S" in warning


def test_a_picture_tesseract_cannot_finish_in_time_is_skipped_alone(tmp_path, monkeypatch):
    from osmose_dagster.core.extract import ocr

    monkeypatch.setattr(ocr, "MAX_SECONDS_PER_PICTURE", 0.001)  # instead of a 20 s picture
    poster = KINDS["large_canvas_4000x3000"](["poster words"], 0)
    deck = write_picture_deck(tmp_path / "slow.pptx", [PictureSlide("Poster", [poster])])

    extraction = extract_deck(deck, ocr=NO_CACHE)

    assert extraction.ocr is not None and extraction.ocr.skipped == {"too_slow": 1}
    assert extraction.slides[0].text == "Poster"
    assert extraction.ocr_budget_exhausted_at is None  # the deck's budget is not spent


def test_the_ocr_settings_come_from_the_environment(tmp_path):
    default = Settings.from_env({"OSMOSE_HOME": str(tmp_path)}).ocr
    assert default.enabled and default.languages == "fra+deu+eng"
    assert default.cache_dir == tmp_path.resolve() / "ocr"
    assert default.tessdata_dir.joinpath("fra.traineddata").is_file()
    off = Settings.from_env({"OSMOSE_HOME": str(tmp_path), "OSMOSE_OCR": "off"}).ocr
    assert not off.enabled and off.describe() == "off"
    with pytest.raises(ConfigError, match="OSMOSE_OCR='maybe'"):
        Settings.from_env({"OSMOSE_OCR": "maybe"})
    with pytest.raises(ConfigError, match="OSMOSE_OCR_LANGUAGES"):
        Settings.from_env({"OSMOSE_OCR_LANGUAGES": "eng; rm -rf"})


def test_a_language_without_its_tessdata_is_a_clear_error(tmp_path):
    picture = KINDS["dark_on_light_24px"](["anything"], 0)
    deck = write_picture_deck(tmp_path / "klingon.pptx", [PictureSlide("Qapla", [picture])])

    with pytest.raises(ConfigError, match=r"OCR languages tlh not found .*tesseract-ocr-tlh"):
        extract_deck(deck, ocr=OcrSettings(cache_dir=None, languages="eng+tlh"))


def test_extract_shows_picture_text_and_status_says_ocr_is_on(tmp_path):
    picture = KINDS["dark_on_light_24px"](["quarterly revenue forecast"], 0)
    deck = write_picture_deck(
        tmp_path / "cli.pptx", [PictureSlide("Revenue", [picture], body="Q3")]
    )

    markdown = osmose(tmp_path / "home", "extract", "--markdown", str(deck)).stdout
    printed = json.loads(osmose(tmp_path / "home", "extract", "--json", str(deck)).stdout)
    status = json.loads(osmose(tmp_path / "home", "status", "--json").stdout)

    assert printed["slides"][0]["text"] == "Revenue\nQ3\nquarterly revenue forecast"
    assert printed["slides"][0]["pictures"] == ["quarterly revenue forecast"]
    assert printed["ocr"]["pictures_from_cache"] == 1  # the --markdown run read it, cached
    assert "> *Read from a picture:* quarterly revenue forecast" in markdown
    assert status["ocr"] == {"enabled": True, "languages": ["fra", "deu", "eng"]}


def test_picture_fills_and_pictures_in_groups_and_placeholders_are_read(tmp_path):
    from pptx import Presentation
    from pptx.util import Inches

    deck_path = tmp_path / "shapes.pptx"
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[8])  # "Picture with Caption"
    slide.shapes.title.text = "Placeholders"
    slide.placeholders[1].insert_picture(
        io.BytesIO(KINDS["jpeg_q50"](["placeholder holds screenshot"], 0))
    )
    group = slide.shapes.add_group_shape()
    group.shapes.add_picture(
        io.BytesIO(KINDS["dark_on_light_24px"](["grouped diagram label"], 0)), Inches(1), Inches(1)
    )
    deck.save(deck_path)
    # A rectangle filled with a picture: python-pptx cannot write it, so the XML is edited.
    _with_picture_fill(deck_path, KINDS["dark_on_light_24px"](["filled rectangle words"], 2))

    extraction = extract_deck(deck_path, ocr=NO_CACHE)

    read = " ".join(extraction.slides[0].pictures)
    assert "grouped diagram label" in read and "filled rectangle words" in read
    assert "placeholder holds screenshot" in read


def _with_picture_fill(path: Path, picture: bytes) -> None:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.oxml.ns import qn
    from pptx.util import Inches

    deck = Presentation(str(path))
    slide = deck.slides[0]
    _, rel_id = slide.part.get_or_add_image_part(io.BytesIO(picture))
    shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(1), Inches(4), Inches(5), Inches(1))
    properties = shape._element.find(qn("p:spPr"))
    fill = properties.makeelement(qn("a:blipFill"), {})
    blip = fill.makeelement(qn("a:blip"), {qn("r:embed"): rel_id})
    fill.append(blip)
    stretch = fill.makeelement(qn("a:stretch"), {})
    stretch.append(stretch.makeelement(qn("a:fillRect"), {}))
    fill.append(stretch)
    geometry = properties.find(qn("a:prstGeom"))
    geometry.addnext(fill)
    for solid in properties.findall(qn("a:solidFill")):
        properties.remove(solid)
    deck.save(str(path))


@pytest.mark.slow
def test_on_real_decks_ocr_only_adds_text_after_each_slides_own(tmp_path):
    """Every corpus deck with pictures: with OCR on, each slide's text is its text without OCR,
    then the words of its pictures; no deck fails because of a picture."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/real is absent on this machine")
    decks = [path for path in sorted(CORPUS.glob("*.pp[st]x")) if _has_media(path)]
    assert len(decks) >= 10
    added = 0
    for path in decks:
        try:
            without = extract_deck(path)
        except DeckError:
            continue
        with_ocr = extract_deck(path, ocr=OcrSettings(cache_dir=tmp_path / "ocr"))
        for before, after in zip(without.slides, with_ocr.slides, strict=True):
            assert after.text.startswith(before.text), (path.name, before.number)
            added += len(after.text) - len(before.text)
    assert added > 1000  # the corpus's screenshots have thousands of words


def _has_media(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.startswith("ppt/media/") for name in archive.namelist())
    except zipfile.BadZipFile:
        return False
