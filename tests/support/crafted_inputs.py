"""Files a colleague might drop into the inbox that are not ordinary decks, made on demand.

`write_crafted_inputs(folder)` writes them (deterministically, in seconds) and returns
{file name: what it is}; `python tests/support/crafted_inputs.py DIR` does the same and prints the
list. Each bad file must end in a clear typed error, each good one (odd names, big but real decks)
must index; tests/core/test_crafted_input.py checks both, with peak memory. No Dagster here.
A symlink pointing out of the inbox is not made here: it depends on where the inbox is.
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

from pptx import Presentation

TITLE_AND_CONTENT, TITLE_ONLY = 1, 5

ZIP_BOMB_BYTES = 3 * 1024**3  # what slide1.xml of zip-bomb.pptx unpacks to
FIVE_THOUSAND = 5000
ONE_MB = 1_000_000

# Valid decks with real text, under names that trip up shells, URLs and CSV.
ODD_NAMES = {
    "deck with spaces.pptx": "spaces in the name",
    "Präsentation – 日本語.pptx": "non-ASCII name (umlaut, en dash, Japanese)",
    "budget, draft, v2.pptx": "commas in the name",
    "[draft] (v2) {final}.pptx": "brackets, parentheses and braces in the name",
    'it\'s a "quoted" deck.pptx': "single and double quotes in the name",
    "-rf deck.pptx": "a name starting with a dash (looks like an option)",
}

_WORDS = [
    "revenue",
    "forecast",
    "customer",
    "churn",
    "pipeline",
    "quarterly",
    "growth",
    "margin",
    "retention",
    "onboarding",
    "roadmap",
    "hiring",
    "budget",
    "migration",
    "latency",
    "availability",
    "incident",
    "review",
    "partner",
    "pricing",
]


def write_crafted_inputs(folder: Path) -> dict[str, str]:
    """Write every crafted file into `folder` (created if needed); {file name: description}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}

    def add(name: str, data: bytes, description: str) -> None:
        (folder / name).write_bytes(data)
        written[name] = description

    add("empty.pptx", b"", "zero bytes")
    add("random-bytes.pptx", random.Random(5).randbytes(64 * 1024), "64 KiB of random bytes")
    add("zip-not-ooxml.pptx", _plain_zip(), "a zip of text files, not an OOXML package")
    add(
        "zip-bomb.pptx",
        _zip_bomb(),
        f"a small deck whose slide1.xml really unpacks to {ZIP_BOMB_BYTES // 1024**3} GiB",
    )
    add(
        "zip-bomb-lying-sizes.pptx",
        _zip_bomb(lie=True),
        "slide1.xml declares its few KB (with their CRC) but its deflate stream holds 3 GiB",
    )
    add(
        "entity-bomb.pptx",
        _entity_bomb(),
        "a valid deck whose slide1.xml declares a billion-laughs entity bomb",
    )
    add(
        "5000-slides.pptx",
        _many_slides(FIVE_THOUSAND),
        f"{FIVE_THOUSAND} slides, each with a title and a line of text",
    )
    add("1mb-text-slide.pptx", _big_text_slide(ONE_MB), "one slide holding 1 MB of text")
    add(
        "hostile-pictures.pptx",
        _hostile_pictures(),
        "a valid deck whose pictures are a 10-gigapixel PNG bomb, a truncated PNG, an EMF, an "
        "SVG, random bytes and an icon, beside one picture of words",
    )
    for number, (name, why) in enumerate(ODD_NAMES.items(), start=1):
        add(name, _small_deck(f"Odd name deck {number}", why), f"a valid small deck: {why}")
    return written


# --- decks ---------------------------------------------------------------------------------------


_FIXED_TIME = datetime(2024, 1, 1)
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def _save(prs) -> bytes:
    """The deck's bytes, the same on every run: fixed document dates and zip timestamps."""
    prs.core_properties.created = prs.core_properties.modified = _FIXED_TIME
    out = io.BytesIO()
    prs.save(out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    return _zip(members)


def _zip(members, compresslevel: int | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as target:
        for name, data in members:
            target.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _sentence(rng: random.Random, words: int = 12) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _small_deck(title: str, body: str) -> bytes:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
    slide.shapes.title.text = title
    slide.placeholders[
        1
    ].text_frame.text = (
        f"This deck tests {body}. The quarterly revenue forecast and customer retention plan."
    )
    return _save(prs)


def _big_text_slide(characters: int) -> bytes:
    """One slide whose body holds about `characters` characters, as 100-character paragraphs."""
    rng = random.Random(1)
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
    slide.shapes.title.text = "A slide with a megabyte of text"
    frame = slide.placeholders[1].text_frame
    lines, total = [], 0
    while total < characters:
        line = _sentence(rng, 14)
        lines.append(line)
        total += len(line) + 1
    frame.text = lines[0]
    for line in lines[1:]:
        frame.add_paragraph().text = line
    return _save(prs)


def _many_slides(count: int) -> bytes:
    """A deck of `count` slides: one slide made by python-pptx, then cloned at the zip level
    (python-pptx's add_slide gets slower with every slide; this takes about a second)."""
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
    slide.shapes.title.text = "TITLE_MARK"
    slide.placeholders[1].text_frame.text = "BODY_MARK"
    with zipfile.ZipFile(io.BytesIO(_save(prs))) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    template = members.pop("ppt/slides/slide1.xml").decode()
    slide_rels = members.pop("ppt/slides/_rels/slide1.xml.rels")
    rng = random.Random(2)
    slide_type = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
    slide_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide"

    types = members["[Content_Types].xml"].decode()
    overrides = "".join(
        f'<Override PartName="/ppt/slides/slide{n}.xml" ContentType="{slide_type}"/>'
        for n in range(2, count + 1)
    )
    members["[Content_Types].xml"] = types.replace("</Types>", overrides + "</Types>").encode()

    rels = members["ppt/_rels/presentation.xml.rels"].decode()
    extra_rels = "".join(
        f'<Relationship Id="rIdS{n}" Type="{slide_rel}" Target="slides/slide{n}.xml"/>'
        for n in range(2, count + 1)
    )
    members["ppt/_rels/presentation.xml.rels"] = rels.replace(
        "</Relationships>", extra_rels + "</Relationships>"
    ).encode()

    presentation = members["ppt/presentation.xml"].decode()
    extra_ids = "".join(f'<p:sldId id="{255 + n}" r:id="rIdS{n}"/>' for n in range(2, count + 1))
    members["ppt/presentation.xml"] = presentation.replace(
        "</p:sldIdLst>", extra_ids + "</p:sldIdLst>"
    ).encode()

    parts = list(members.items())
    for n in range(1, count + 1):
        xml = template.replace("TITLE_MARK", f"Slide {n}: {rng.choice(_WORDS)} review")
        parts.append((f"ppt/slides/slide{n}.xml", xml.replace("BODY_MARK", _sentence(rng))))
        parts.append((f"ppt/slides/_rels/slide{n}.xml.rels", slide_rels))
    return _zip(parts, compresslevel=1)


def _entity_bomb() -> bytes:
    """A valid small deck whose slide1.xml carries a DTD with ten levels of ten-fold entities
    (10^9 'lol's, about 3 GB once expanded), referenced from the title."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE p:sld [" + "".join(levels) + "]>"
    deck = _small_deck("ENTITY_MARK", "an entity bomb")

    def transform(xml: bytes) -> bytes:
        text = xml.decode()
        declaration_end = text.index("?>") + 2
        text = text[:declaration_end] + doctype + text[declaration_end:]
        return text.replace("ENTITY_MARK", "&lol9;").encode()

    return _rewrite(deck, "ppt/slides/slide1.xml", transform)


def _hostile_pictures() -> bytes:
    """One slide with seven pictures: six hostile ones (OCR must skip them, counted) and one with
    words (OCR must still read it)."""
    from PIL import Image, ImageDraw

    def png(image) -> bytes:
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()

    words = Image.new("L", (700, 120), 255)
    ImageDraw.Draw(words).text((20, 30), "Quarterly churn review", fill=0, font_size=40)
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Pictures from anywhere"
    for n in range(7):  # distinct placeholders, replaced below; the last one keeps its words
        image = words if n == 6 else Image.new("L", (64 + n, 64), 255)
        slide.shapes.add_picture(io.BytesIO(png(image)), 300_000 + n * 1_200_000, 2_000_000)

    def ihdr_bomb() -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            crc = struct.pack(">I", zlib.crc32(kind + data))
            return struct.pack(">I", len(data)) + kind + data + crc

        header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
        idat = zlib.compress(b"\x00" * 1000)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", idat)
            + chunk(b"IEND", b"")
        )

    hostile = [
        ihdr_bomb(),
        png(Image.new("RGB", (300, 200), (255, 255, 255)))[:70],
        b"\x01\x00\x00\x00" + bytes(300),
        b'<svg xmlns="http://www.w3.org/2000/svg"><text x="0" y="15">svg</text></svg>',
        random.Random(23).randbytes(4096),
        png(Image.new("RGB", (16, 16), (200, 0, 0))),
    ]
    deck = _save(prs)
    for number, blob in enumerate(hostile, start=1):
        deck = _rewrite(deck, f"ppt/media/image{number}.png", lambda _, blob=blob: blob)
    return deck


def _rewrite(deck: bytes, member: str, transform) -> bytes:
    with zipfile.ZipFile(io.BytesIO(deck)) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    return _zip((name, transform(data) if name == member else data) for name, data in members)


def _plain_zip() -> bytes:
    return _zip(
        [
            ("readme.txt", b"Holiday photos, see the other files.\n"),
            ("notes/list.txt", b"one\ntwo\nthree\n"),
        ]
    )


# --- the zip bomb --------------------------------------------------------------------------------

_CHUNK = 64 * 1024**2


def _zip_bomb(lie: bool = False) -> bytes:
    """A valid small deck, except that slide1.xml is its real XML followed by 3 GiB of spaces
    (whitespace after the root element is still well-formed XML), with honest sizes and CRC.

    Compressing 3 GiB would take tens of seconds; instead one 64 MiB block of spaces is deflated
    once, ending in a full flush (which resets the compressor, so the next block's deflate bytes
    are identical), and those bytes are repeated. Only the CRC needs a pass over the data.

    With `lie`, the member declares the size and CRC of its real XML alone: zipfile stops there
    and finds the CRC right, but its read() may inflate up to 2 GiB in one call before cutting."""
    deck = _small_deck("Zip bomb", "a zip bomb")
    with zipfile.ZipFile(io.BytesIO(deck)) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    entries = []
    for name, data in members:
        if name == "ppt/slides/slide1.xml":
            deflated, crc, size = _padded_with_spaces(data, ZIP_BOMB_BYTES, crc=not lie)
            if lie:
                crc, size = zlib.crc32(data), len(data)
            entries.append((name, deflated, crc, size))
        else:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
            deflated = compressor.compress(data) + compressor.flush()
            entries.append((name, deflated, zlib.crc32(data), len(data)))
    return _write_zip(entries)


def _padded_with_spaces(head: bytes, total: int, crc: bool = True) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32 (0 unless `crc`), size) of `head` then spaces up to `total`."""
    padding = total - len(head)
    full_chunks, rest = divmod(padding, _CHUNK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)]
    chunk = b" " * _CHUNK
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    parts += [block] * full_chunks
    parts.append(compressor.compress(b" " * rest) + compressor.flush(zlib.Z_FINISH))
    checksum = 0
    if crc:
        checksum = zlib.crc32(head)
        for _ in range(full_chunks):
            checksum = zlib.crc32(chunk, checksum)
        checksum = zlib.crc32(b" " * rest, checksum)
    return b"".join(parts), checksum, total


def _write_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of deflated members (name, raw deflate bytes, crc32, size); sizes under 4 GiB."""
    out = io.BytesIO()
    directory = io.BytesIO()
    dos_time, dos_date = 0, (2024 - 1980) << 9 | 1 << 5 | 1
    for name, deflated, crc, size in entries:
        encoded = name.encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                8,
                dos_time,
                dos_date,
                crc,
                len(deflated),
                size,
                len(encoded),
                0,
            )
        )
        out.write(encoded)
        out.write(deflated)
        directory.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                dos_time,
                dos_date,
                crc,
                len(deflated),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        directory.write(encoded)
    start = out.tell()
    out.write(directory.getvalue())
    out.write(
        struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            len(entries),
            len(entries),
            len(directory.getvalue()),
            start,
            0,
        )
    )
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python tests/support/crafted_inputs.py DIR", file=sys.stderr)
        return 2
    folder = Path(args[0])
    for name, description in write_crafted_inputs(folder).items():
        print(f"{folder / name}\t{(folder / name).stat().st_size}\t{description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
