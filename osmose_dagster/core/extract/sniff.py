"""What kind of deck a file is, judged by its content (never its extension); LibreOffice conversion.

`sniff_deck` answers with a `DeckKind` for the files we can read (directly or after conversion) and
raises a typed `DeckError` for everything else, including a deck beyond the `ExtractionLimits`
(file size, unpacked sizes, slide parts) and XML parts that declare a DTD (entity bombs).
`decrypt_deck` opens an encrypted deck with one of a list of passwords. `convert_to_pptx` turns a
legacy or Strict deck into a transitional .pptx with LibreOffice.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shutil
import signal
import stat
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator, Sequence
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
from osmose_dagster.core.settings import ExtractionLimits

DEFAULT_LIMITS = ExtractionLimits()
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

SLIDE_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
# OOXML parts never carry a DTD; one that does is an entity bomb (billion laughs) or an attempt
# to reach external entities. Looked for in UTF-8 and both UTF-16 byte orders.
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_SCAN_BLOCK = 1 << 20

# zipfile signals damage with several exception types, depending on where the damage is.
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)


class DeckKind(enum.Enum):
    OOXML = "ooxml"  # python-pptx reads it
    STRICT_OOXML = "strict"  # ISO/IEC 29500 Strict: needs conversion
    LEGACY_PPT = "legacy"  # binary PowerPoint 97-2003 (or older): needs conversion
    # only with sniff_deck(..., encrypted_ok=True); otherwise EncryptedDeckError
    ENCRYPTED_OOXML = "encrypted-ooxml"  # OLE2 wrapping an EncryptedPackage
    ENCRYPTED_PPT = "encrypted-ppt"  # legacy .ppt with RC4 / CryptoAPI encryption

    @property
    def encrypted(self) -> bool:
        return self in (DeckKind.ENCRYPTED_OOXML, DeckKind.ENCRYPTED_PPT)

    @property
    def described(self) -> str:
        return {
            DeckKind.ENCRYPTED_OOXML: "encrypted OOXML package",
            DeckKind.ENCRYPTED_PPT: "encrypted legacy .ppt",
        }.get(self, self.value)


def safe_xml_parser() -> etree.XMLParser:
    """The parser for XML we parse ourselves: no entities, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_xml(path: Path, blob: bytes, member: str) -> etree._Element:
    try:
        return etree.fromstring(blob, parser=safe_xml_parser())
    except etree.LxmlError as exc:
        raise CorruptDeckError(path, f"malformed XML in {member}: {exc}") from exc


def sniff_deck(
    path: Path, limits: ExtractionLimits | None = None, *, encrypted_ok: bool = False
) -> DeckKind:
    """Classify `path` by its first bytes; raise a `DeckError` when it is no readable deck.

    `limits` (None: the defaults) bound the file size and, for a zip, the unpacked sizes and the
    number of slide parts. An encrypted deck raises EncryptedDeckError unless `encrypted_ok`, in
    which case its kind says so (for the caller to decrypt it with `decrypt_deck`)."""
    limits = limits or DEFAULT_LIMITS
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block the read below
        raise NotAPresentationError(path, "not a regular file")
    if info.st_size > limits.max_file_bytes:
        raise DeckTooLargeError(
            path, _over("the file is", info.st_size, limits.max_file_bytes, "OSMOSE_MAX_FILE_MB")
        )
    with open(path, "rb") as stream:
        head = stream.read(len(OLE2_MAGIC))
    if not head:
        raise NotAPresentationError(path, "empty file")
    if head.startswith(OLE2_MAGIC):
        kind = _sniff_ole2(path)
        if kind.encrypted and not encrypted_ok:
            raise EncryptedDeckError(path, kind.described)
        return kind
    if head[:4] in ZIP_MAGICS:
        return _sniff_zip(path, limits)
    raise NotAPresentationError(path, "neither a zip (OOXML) nor an OLE2 compound file")


def _over(what: str, size: int, limit: int, variable: str) -> str:
    return f"{what} {_size(size)}, over the limit of {_size(limit)}; raise {variable} to accept it"


def _size(count: int) -> str:
    """Bytes for people: '3.0 GiB', '512 MiB', '740 bytes'."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


def _sniff_ole2(path: Path) -> DeckKind:
    streams = _ole2_top_level_streams(path)
    if streams & _OLE_ENCRYPTED_OOXML_STREAMS:
        return DeckKind.ENCRYPTED_OOXML
    if not streams & _OLE_POWERPOINT_STREAMS:
        raise NotAPresentationError(path, "OLE2 file without a PowerPoint stream")
    if _OLE_ENCRYPTED_PPT_STREAM in streams or _legacy_ppt_is_encrypted(path):
        return DeckKind.ENCRYPTED_PPT
    return DeckKind.LEGACY_PPT


def decrypt_deck(path: Path, passwords: Sequence[str], target: Path) -> bool:
    """Write the decrypted deck to `target` with the first password of `passwords` that opens it;
    False if none does. Nothing about the passwords (not even which one worked) is returned,
    logged or put in an exception: a failure says only that none opened the deck."""
    for password in passwords:
        try:
            with open(path, "rb") as stream:
                office_file = msoffcrypto.OfficeFile(stream)
                try:
                    office_file.load_key(password=password, verify_password=True)
                except TypeError:  # legacy .ppt: load_key verifies by itself, takes no such flag
                    office_file.load_key(password=password)
                with open(target, "wb") as out:
                    office_file.decrypt(out)
        except Exception:
            continue
        with open(target, "rb") as out:
            head = out.read(len(OLE2_MAGIC))
        if head[:4] in ZIP_MAGICS or head.startswith(OLE2_MAGIC):
            return True
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    return False


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


def _sniff_zip(path: Path, limits: ExtractionLimits) -> DeckKind:
    try:
        with zipfile.ZipFile(path) as archive:
            check_member_sizes(path, archive, limits)
            return _classify_package(path, archive, limits)
    except (*ZIP_READ_ERRORS, RuntimeError) as exc:  # RuntimeError: a zip-encrypted member
        raise CorruptDeckError(path, f"unreadable zip: {exc}") from exc


def check_member_sizes(
    path: Path, archive: zipfile.ZipFile, limits: ExtractionLimits | None = None
) -> None:
    """Refuse a zip whose declared sizes are too large, before anything is decompressed.

    The declared sizes are what zipfile decompresses at most (it stops there and checks the CRC),
    so a member that lies about its size cannot unpack to more than it declares."""
    limits = limits or DEFAULT_LIMITS
    total = 0
    for member in archive.infolist():
        if member.file_size > limits.max_member_bytes:
            raise DeckTooLargeError(
                path,
                _over(
                    f"{member.filename} unpacks to",
                    member.file_size,
                    limits.max_member_bytes,
                    "OSMOSE_MAX_MEMBER_MB",
                ),
            )
        total += member.file_size
    if total > limits.max_unpacked_bytes:
        raise DeckTooLargeError(
            path,
            _over(
                "the package unpacks to", total, limits.max_unpacked_bytes, "OSMOSE_MAX_UNPACKED_MB"
            ),
        )


def _classify_package(path: Path, archive: zipfile.ZipFile, limits: ExtractionLimits) -> DeckKind:
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
    _check_parts(path, archive, types, limits)
    return DeckKind.STRICT_OOXML if is_strict else DeckKind.OOXML


def _check_parts(
    path: Path, archive: zipfile.ZipFile, types: etree._Element, limits: ExtractionLimits
) -> None:
    """Before python-pptx parses anything: not more slide parts than `max_slides`; every member
    unpacks to no more than it declares; no XML part declares a DTD."""
    content_type_of = _content_types(types)
    members = [m for m in archive.infolist() if not m.is_dir() and m.filename != _CONTENT_TYPES]
    kinds = {m.filename: content_type_of(m.filename) or "" for m in members}
    slides = sum(kind == SLIDE_CONTENT_TYPE for kind in kinds.values())
    if slides > limits.max_slides:
        raise DeckTooLargeError(path, slides_over(slides, limits.max_slides))
    with open(path, "rb") as raw:
        for member in members:
            is_xml = member.filename.endswith((".xml", ".rels", ".vml")) or kinds[
                member.filename
            ].endswith("xml")
            _scan_member(path, archive, raw, member, is_xml)


def slides_over(count: int, limit: int) -> str:
    return f"{count} slides, over the limit of {limit}; raise OSMOSE_MAX_SLIDES to accept it"


def _scan_member(
    path: Path, archive: zipfile.ZipFile, raw, member: zipfile.ZipInfo, is_xml: bool
) -> None:
    """Unpack one member as a stream, 1 MiB at a time, and refuse it if it unpacks to more than
    its declared size, or (for an XML part) declares a DTD or entities.

    The first matters because zipfile.read(), which python-pptx uses, may inflate a whole member
    in one call before it cuts the result to the declared size: a member that lies about its
    size could take gigabytes there. The second, because python-pptx's parser reads a DTD's
    internal subset: OOXML parts never carry one, so one that does is an entity-expansion bomb
    or a reach for external entities. Outside markup `<` is always escaped in XML, so the markers
    can only be markup (or sit in a comment or CDATA, which OOXML writers do not produce)."""
    if member.flag_bits & 0x1:
        raise CorruptDeckError(
            path, f"{member.filename} is zip-encrypted, which no PowerPoint package is"
        )
    if member.compress_type == zipfile.ZIP_DEFLATED:
        blocks = _inflate(raw, member)
    elif is_xml:
        blocks = _read_blocks(archive, member)
    else:
        return  # stored media: zipfile never reads more than the (limited) compressed size
    overlap = max(len(marker) for marker in _DTD_MARKERS) - 1
    tail = b""
    unpacked = 0
    for block in blocks:
        unpacked += len(block)
        if unpacked > member.file_size:
            raise CorruptDeckError(
                path,
                f"{member.filename} unpacks to more than the {member.file_size} bytes it "
                "declares (a zip bomb?); refusing to read it",
            )
        if is_xml:
            window = tail + block
            if any(marker in window for marker in _DTD_MARKERS):
                raise CorruptDeckError(
                    path,
                    f"XML part {member.filename} declares a DTD or entities, which OOXML never "
                    "does (an entity-expansion bomb?); refusing to parse it",
                )
            tail = window[-overlap:]


def _read_blocks(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[bytes]:
    with archive.open(member) as stream:
        while block := stream.read(_SCAN_BLOCK):
            yield block


def _inflate(raw, member: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's deflate stream, inflated by us (at most 1 MiB of output per step) from the
    raw bytes after its local header: unlike zipfile, this sees what the stream really holds."""
    raw.seek(member.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {member.filename}")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    raw.seek(name_length + extra_length, os.SEEK_CUR)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    left = member.compress_size
    while left > 0 and not inflater.eof:
        data = raw.read(min(_SCAN_BLOCK, left))
        if not data:
            raise EOFError(f"{member.filename} is truncated")
        left -= len(data)
        while data and not inflater.eof:
            yield inflater.decompress(data, _SCAN_BLOCK)
            data = inflater.unconsumed_tail
    while not inflater.eof and (block := inflater.decompress(b"", _SCAN_BLOCK)):
        yield block


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


def _content_types(types: etree._Element):
    """`_content_type_of` for many parts: the overrides and defaults read once."""
    overrides = {
        o.get("PartName", "").lstrip("/").lower(): o.get("ContentType")
        for o in types.iter(f"{_CT_NS}Override")
    }
    defaults: dict[str, str | None] = {}
    for default in types.iter(f"{_CT_NS}Default"):
        defaults.setdefault(default.get("Extension", "").lower(), default.get("ContentType"))

    def content_type_of(part_name: str) -> str | None:
        lowered = part_name.lower()
        if lowered in overrides:
            return overrides[lowered]
        return defaults.get(PurePosixPath(lowered).suffix.lstrip("."))

    return content_type_of


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
