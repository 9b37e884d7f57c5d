"""What kind of deck a file is, judged by its content (never its extension); LibreOffice conversion.

`sniff_deck` answers with a `DeckKind` for the files we can read (directly or after conversion) and
raises a typed `DeckError` for everything else. `convert_to_pptx` turns a legacy or Strict deck into
a transitional .pptx with LibreOffice.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shutil
import signal
import stat
import subprocess
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import msoffcrypto
import olefile
from lxml import etree

from osmose_dagster.core.errors import (
    ConversionError,
    CorruptDeckError,
    DeckTooLargeError,
    EncryptedDeckError,
    NotAPresentationError,
)

MAX_MEMBER_BYTES = 512 * 1024**2
# python-pptx reads every member into memory at once, so the sum matters as much as each one.
MAX_TOTAL_BYTES = 2 * 1024**3
DEFAULT_CONVERSION_TIMEOUT_S = 120.0

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

PRESENTATION_MAIN_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
        "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
        "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
    }
)

_CONTENT_TYPES = "[Content_Types].xml"
_PACKAGE_RELS = "_rels/.rels"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TRANSITIONAL_RELTYPES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_STRICT_RELTYPES = "http://purl.oclc.org/ooxml/officeDocument/relationships/"
_OFFICE_DOCUMENT = "officeDocument"

_OLE_ENCRYPTED_OOXML_STREAMS = {"EncryptedPackage", "EncryptionInfo"}
_OLE_POWERPOINT_STREAMS = {"PowerPoint Document", "PP40"}  # PP40: PowerPoint 4.0
_OLE_ENCRYPTED_PPT_STREAM = "EncryptedSummary"

# zipfile signals damage with several exception types, depending on where the damage is.
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)


class DeckKind(enum.Enum):
    OOXML = "ooxml"  # python-pptx reads it
    STRICT_OOXML = "strict"  # ISO/IEC 29500 Strict: needs conversion
    LEGACY_PPT = "legacy"  # binary PowerPoint 97-2003 (or older): needs conversion


def safe_xml_parser() -> etree.XMLParser:
    """The parser for XML we parse ourselves: no entities, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_xml(path: Path, blob: bytes, member: str) -> etree._Element:
    try:
        return etree.fromstring(blob, parser=safe_xml_parser())
    except etree.LxmlError as exc:
        raise CorruptDeckError(path, f"malformed XML in {member}: {exc}") from exc


def sniff_deck(path: Path) -> DeckKind:
    """Classify `path` by its first bytes; raise a `DeckError` when it is no readable deck."""
    if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block the read below
        raise NotAPresentationError(path, "not a regular file")
    with open(path, "rb") as stream:
        head = stream.read(len(OLE2_MAGIC))
    if not head:
        raise NotAPresentationError(path, "empty file")
    if head.startswith(OLE2_MAGIC):
        return _sniff_ole2(path)
    if head[:4] in ZIP_MAGICS:
        return _sniff_zip(path)
    raise NotAPresentationError(path, "neither a zip (OOXML) nor an OLE2 compound file")


def _sniff_ole2(path: Path) -> DeckKind:
    streams = _ole2_top_level_streams(path)
    if streams & _OLE_ENCRYPTED_OOXML_STREAMS:
        raise EncryptedDeckError(path, "encrypted OOXML package")
    if not streams & _OLE_POWERPOINT_STREAMS:
        raise NotAPresentationError(path, "OLE2 file without a PowerPoint stream")
    if _OLE_ENCRYPTED_PPT_STREAM in streams or _legacy_ppt_is_encrypted(path):
        raise EncryptedDeckError(path, "encrypted legacy .ppt")
    return DeckKind.LEGACY_PPT


def _ole2_top_level_streams(path: Path) -> set[str]:
    try:
        with olefile.OleFileIO(str(path)) as ole:
            return {entry[0] for entry in ole.listdir(streams=True, storages=True)}
    except Exception as exc:  # olefile raises many exception types on damaged input
        raise CorruptDeckError(path, f"unreadable OLE2 container: {exc}") from exc


def _legacy_ppt_is_encrypted(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return bool(msoffcrypto.OfficeFile(stream).is_encrypted())
    except Exception:  # msoffcrypto fails on damaged or very old files: they are not encrypted ones
        return False


def _sniff_zip(path: Path) -> DeckKind:
    try:
        with zipfile.ZipFile(path) as archive:
            check_member_sizes(path, archive)
            return _classify_package(path, archive)
    except ZIP_READ_ERRORS as exc:
        raise CorruptDeckError(path, f"unreadable zip: {exc}") from exc


def check_member_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a zip whose declared sizes are absurd, before anything is decompressed."""
    total = 0
    for member in archive.infolist():
        if member.file_size > MAX_MEMBER_BYTES:
            raise DeckTooLargeError(
                path,
                f"{member.filename} unpacks to {member.file_size} bytes, limit {MAX_MEMBER_BYTES}",
            )
        total += member.file_size
    if total > MAX_TOTAL_BYTES:
        raise DeckTooLargeError(path, f"unpacks to {total} bytes, limit {MAX_TOTAL_BYTES}")


def _classify_package(path: Path, archive: zipfile.ZipFile) -> DeckKind:
    names = set(archive.namelist())
    if _CONTENT_TYPES not in names:
        raise NotAPresentationError(path, "zip without [Content_Types].xml")
    if _PACKAGE_RELS not in names:
        raise NotAPresentationError(path, "zip without package relationships (_rels/.rels)")
    rels = parse_xml(path, archive.read(_PACKAGE_RELS), _PACKAGE_RELS)
    main_part, is_strict = _main_part(path, rels)
    types = parse_xml(path, archive.read(_CONTENT_TYPES), _CONTENT_TYPES)
    content_type = _content_type_of(main_part, types)
    if content_type not in PRESENTATION_MAIN_TYPES:
        raise NotAPresentationError(path, f"main part {main_part} is {content_type or 'untyped'}")
    return DeckKind.STRICT_OOXML if is_strict else DeckKind.OOXML


def _main_part(path: Path, rels: etree._Element) -> tuple[str, bool]:
    """The main part's name (no leading '/') and whether the package uses Strict relationships."""
    for rel in rels.iter(f"{_RELS_NS}Relationship"):
        reltype, target = rel.get("Type", ""), rel.get("Target", "")
        for prefix, is_strict in ((_TRANSITIONAL_RELTYPES, False), (_STRICT_RELTYPES, True)):
            if reltype == prefix + _OFFICE_DOCUMENT and target:
                return str(PurePosixPath("/", target)).lstrip("/"), is_strict
    raise NotAPresentationError(path, "zip without a main document part")


def _content_type_of(part_name: str, types: etree._Element) -> str | None:
    for override in types.iter(f"{_CT_NS}Override"):
        if override.get("PartName", "").lstrip("/").lower() == part_name.lower():
            return override.get("ContentType")
    extension = PurePosixPath(part_name).suffix.lstrip(".").lower()
    for default in types.iter(f"{_CT_NS}Default"):
        if default.get("Extension", "").lower() == extension:
            return default.get("ContentType")
    return None


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pptx(path: Path, soffice: str, workdir: Path, *, timeout_s: float) -> Path:
    """Convert `path` with LibreOffice headless into `workdir`; return the .pptx it wrote."""
    workdir = workdir.resolve()
    outdir = workdir / "out"
    outdir.mkdir()
    command = [
        soffice,
        # a private profile: no clash with an office the user is running, nor between conversions
        f"-env:UserInstallation={(workdir / 'profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pptx",
        "--outdir",
        str(outdir),
        str(path.resolve()),  # absolute, so that a name starting with '-' is no option
    ]
    try:
        returncode, stderr = _run_in_own_session(command, timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise ConversionError(path, f"timed out after {timeout_s:g} s") from exc
    except OSError as exc:
        raise ConversionError(path, f"cannot run {soffice}: {exc}") from exc
    produced = sorted(outdir.glob("*.pptx"))
    if returncode != 0 or not produced:
        last_line = (stderr.strip().splitlines() or ["no output"])[-1]
        raise ConversionError(path, f"exit status {returncode}: {last_line}")
    return produced[0]


def _run_in_own_session(command: list[str], timeout_s: float) -> tuple[int, str]:
    """Run `command`; on timeout kill its whole process group (soffice forks soffice.bin)."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return process.returncode, stderr.decode("utf-8", "replace")
