"""The inbox's files: one file per document, keyed by its path relative to the inbox.

The partition key of a document is its path relative to the inbox (POSIX separators), so a
key alone is enough to find the file again in any later run or backfill.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from pathlib import Path, PurePosixPath

from osmose_dagster.core.errors import (
    DocumentChangedError,
    DocumentNotFoundError,
    OsmoseError,
    UnsafeDocumentPathError,
)
from osmose_dagster.core.records import RawDocument

# Dagster refuses these inside partition keys.
_FORBIDDEN_IN_KEYS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


def document_key(inbox: Path, path: Path) -> str:
    relative = path.resolve().relative_to(inbox.resolve()).as_posix()
    bad = [s for s in _FORBIDDEN_IN_KEYS if s in relative]
    if bad:
        raise OsmoseError(
            f"{path.name}: the file name contains {bad!r}, which Dagster refuses "
            "in partition keys; rename the file"
        )
    return relative


def ensure_inbox(inbox: Path) -> None:
    """Create the drop folder when it is missing, so that a new user finds it where the README
    says. One that cannot be created is left to the sensor, whose ticks then say why."""
    with contextlib.suppress(OSError):
        inbox.mkdir(parents=True, exist_ok=True)


def locate(inbox: Path, key: str) -> Path:
    """The inbox file for a key, refusing anything (.., absolute paths, links) that leaves it.

    A key is a relative path with no '..' (as `document_key` makes them); a key that is a link,
    or passes through a linked folder, must resolve inside the inbox (the drop-folder sensor
    skips such links, this catches one made or changed after the sensor saw the file)."""
    root = inbox.resolve()
    parts = PurePosixPath(key).parts
    if not key or PurePosixPath(key).is_absolute() or Path(key).is_absolute() or ".." in parts:
        raise UnsafeDocumentPathError(
            f"{key}: not a relative path inside the inbox {root} (absolute, or with '..'); "
            "refusing to read it"
        )
    candidate = (root / key).resolve()
    if root not in candidate.parents:
        raise UnsafeDocumentPathError(
            f"{key}: a link to {candidate}, outside the inbox {root}; refusing to read it"
        )
    if not candidate.is_file():
        raise DocumentNotFoundError(f"{key}: no such file in the inbox {root}")
    return candidate


def describe(inbox: Path, key: str) -> RawDocument:
    path = locate(inbox, key)
    sha256, size = file_hash(path)
    return RawDocument(document=key, path=str(path), file=path.name, size=size, sha256=sha256)


def ensure_unchanged(inbox: Path, key: str, sha256: str) -> None:
    """Raise unless the inbox still holds the document with the bytes its run read.

    Checked just before a run writes its points: a deck removed mid-run must not come back into
    the index, and an older run must not overwrite the points of a newer version.
    """
    try:
        current, _ = file_hash(locate(inbox, key))
    except DocumentNotFoundError:
        raise DocumentNotFoundError(
            f"{key}: removed from the inbox while its run was in flight; nothing was indexed"
        ) from None
    if current != sha256:
        raise DocumentChangedError(
            f"{key}: replaced in the inbox while its run was in flight; nothing was indexed "
            "(the drop-folder sensor runs the new version)"
        )


def add_to_inbox(inbox: Path, source: Path) -> str:
    """Copy a deck into the inbox (unless it is already there) and return its key."""
    source = source.expanduser()
    if not source.is_file():
        raise DocumentNotFoundError(f"{source}: no such file")
    inbox.mkdir(parents=True, exist_ok=True)
    resolved = source.resolve()
    if inbox.resolve() in resolved.parents:
        return document_key(inbox, resolved)
    target = inbox / source.name
    if not target.exists() or file_hash(target) != file_hash(resolved):
        temporary = target.with_name(f".{target.name}.partial")
        shutil.copyfile(resolved, temporary)
        temporary.replace(target)  # atomic: a watcher never sees half a file under the real name
    return document_key(inbox, target)


def file_hash(path: str | Path) -> tuple[str, int]:
    """(sha256 hex digest, size in bytes), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
