"""The drop folder, tick by tick: which decks are new, changed, removed, or still being written.

Plain Python (no Dagster). The drop-folder sensor (defs/sensors.py) calls `list_inbox`, then
`plan_tick` against its cursor, and turns the plan into partition and run requests.

A tick only stat()s files. A deck is hashed only when its (size, mtime_ns) changed and has since
held still: the same on two consecutive ticks, and its mtime at least `stable_seconds` old. Its
content hash then decides: new content is requested, the same content (a touch) is not. A tick
can cap its reading (time) and its requests: decks beyond the cap are simply taken up next tick.

A tick never removes most of the index at once by accident: when the inbox is suddenly empty, or
more than half of the indexed decks are gone from it (an unmounted share, a sync tool that wiped
the folder for a moment), the removals are held back until the decks come back or the removal is
allowed (`allow_mass_removal`, OSMOSE_ALLOW_MASS_REMOVAL=1).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from osmose_dagster.core.errors import OsmoseError
from osmose_dagster.core.inbox.files import document_key, file_hash

DECK_SUFFIXES = frozenset({".pptx", ".pptm", ".potx", ".ppsx", ".ppt"})
TEMP_SUFFIXES = (".tmp", ".partial")
CURSOR_VERSION = 1
WHOLE_INBOX = ""  # in `InboxListing.unreadable`: the inbox itself could not be listed
# The mass-removal guard: a tick that would remove more than this many decks, and more than half
# of those indexed, removes none (nor any from an inbox that is empty, from 2 decks on).
MASS_REMOVAL_MIN = 10
EMPTY_INBOX_REMOVAL_MIN = 2
ALLOW_MASS_REMOVAL_ENV = "OSMOSE_ALLOW_MASS_REMOVAL"


def is_deck_name(name: str) -> bool:
    """A deck by its name: a deck suffix (any case); not hidden (which covers our own
    `.name.partial` copies), not an Office lock file (`~$x.pptx`) or other `~` temp file."""
    lowered = name.lower()
    return (
        not name.startswith((".", "~"))
        and not lowered.endswith(TEMP_SUFFIXES)
        and os.path.splitext(lowered)[1] in DECK_SUFFIXES
    )


# ---------------------------------------------------------------------------------------------
# Listing: one stat() per candidate file, nothing read.


@dataclass(frozen=True)
class FileStat:
    path: str  # the file to read (for a link inside the inbox, the link itself)
    size: int
    mtime_ns: int


@dataclass
class InboxListing:
    files: dict[str, FileStat] = field(default_factory=dict)  # by document key
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> why (to log once)
    unreadable: list[str] = field(default_factory=list)  # folders not listed; their decks stay


def list_inbox(inbox: Path, known_keys: Container[str] = ()) -> InboxListing:
    """Every deck under `inbox`, recursively, by document key.

    `known_keys` (the cursor's) are accepted as keys without checking them again, which is most
    of a tick's cost otherwise.

    Hidden files and folders, lock and temp files, other suffixes, and anything but a regular
    file are left out silently. Links are not followed to new places: a link that resolves outside
    the inbox is skipped (and reported in `skipped`); a link to a deck inside the inbox is that
    deck (same key); a linked folder inside the inbox is not walked twice. A name Dagster refuses
    as a partition key is reported in `skipped`. A folder that cannot be listed is reported in
    `unreadable`, so its decks are not mistaken for removed ones.
    """
    listing = InboxListing()
    try:
        root = inbox.resolve(strict=True)
        if not root.is_dir():
            raise NotADirectoryError(str(inbox))
    except OSError as error:
        listing.unreadable.append(WHOLE_INBOX)
        listing.skipped[str(inbox)] = f"the inbox cannot be listed ({error.strerror or error})"
        return listing
    folders = [(str(root), "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError as error:
            relative = prefix.rstrip("/") or WHOLE_INBOX
            listing.unreadable.append(relative)
            listing.skipped[relative or str(inbox)] = (
                f"folder cannot be listed ({error.strerror or error}); its decks are kept"
            )
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden file or folder
            relative = prefix + entry.name
            try:
                if entry.is_symlink():
                    _add_link(listing, root, entry, relative)
                elif entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, relative + "/"))
                elif is_deck_name(entry.name) and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    _add_file(listing, root, relative, entry.path, info, known_keys)
            except FileNotFoundError:
                continue  # gone between the listing and the stat: absent this tick
    return listing


def _add_file(
    listing: InboxListing, root: Path, relative: str, path: str, info, known_keys=()
) -> None:
    if relative in known_keys:
        key = relative
    else:
        try:
            key = document_key(root, Path(path))
        except OsmoseError as error:
            listing.skipped[relative] = str(error)
            return
    listing.files[key] = FileStat(path, info.st_size, info.st_mtime_ns)


def _add_link(listing: InboxListing, root: Path, entry: os.DirEntry, relative: str) -> None:
    try:
        target = Path(entry.path).resolve()
    except (OSError, RuntimeError) as error:  # a loop of links
        listing.skipped[relative] = f"link cannot be resolved ({error}); not followed"
        return
    if root != target and root not in target.parents:
        if is_deck_name(entry.name) or entry.is_dir():
            listing.skipped[relative] = f"link to {target}, outside the inbox; not followed"
        return
    if not is_deck_name(entry.name) or not entry.is_file():
        return  # a linked folder inside the inbox is walked where it really is
    if any(part.startswith(".") for part in target.relative_to(root).parts) or not is_deck_name(
        target.name
    ):
        return  # points at a hidden or temp file
    _add_file(listing, root, relative, entry.path, os.stat(entry.path))


# ---------------------------------------------------------------------------------------------
# The cursor: what every deck looked like at the last tick, and what was requested for it.


@dataclass(frozen=True)
class DeckState:
    size: int
    mtime_ns: int
    sha256: str | None = None  # the content last requested for this key; None: never requested
    requested: bool = False  # whether the file as it is at (size, mtime_ns) has that content


@dataclass(frozen=True)
class InboxCursor:
    """JSON, compact: `{"v": 1, "batch": N, "decks": {key: [size, mtime_ns, sha256|null,
    requested 0|1]}, "logged": [path, ...]}`; `batch` counts the ticks that requested runs."""

    decks: Mapping[str, DeckState] = field(default_factory=dict)
    logged: frozenset[str] = frozenset()  # skipped paths already logged
    batch: int = 0

    def to_json(self) -> str:
        decks = {
            key: [s.size, s.mtime_ns, s.sha256, int(s.requested)]
            for key, s in sorted(self.decks.items())
        }
        body = {"v": CURSOR_VERSION, "batch": self.batch, "decks": decks}
        if self.logged:
            body["logged"] = sorted(self.logged)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> InboxCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"version {data.get('v')!r}")
            decks = {
                key: DeckState(int(size), int(mtime_ns), sha256, bool(requested))
                for key, (size, mtime_ns, sha256, requested) in data["decks"].items()
            }
            return cls(decks, frozenset(data.get("logged", ())), int(data.get("batch", 0)))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise OsmoseError(
                f"the drop-folder sensor's cursor is not one it wrote ({error}); reset the "
                "sensor's cursor in the Dagster UI to rescan the inbox"
            ) from None


# ---------------------------------------------------------------------------------------------
# One tick: the listing against the cursor.


@dataclass(frozen=True)
class DeckRequest:
    key: str
    sha256: str
    new: bool  # never requested before under this key
    run_key: str


@dataclass
class TickPlan:
    requests: list[DeckRequest]  # new or changed content, stable: one run each
    removed: dict[str, DeckState]  # requested before, gone now: delete partition and points
    waiting: list[str]  # new or changed, not stable yet: looked at again next tick
    deferred: list[str]  # stable, but this tick's reading or request cap was reached: next tick
    touched: list[str]  # hashed after a change of size or mtime, same content: no run
    skipped: dict[str, str]  # newly skipped paths and why (each logged once)
    errors: dict[str, str]  # decks that could not be read this tick (retried next tick)
    hashed: int  # files read this tick
    cursor: InboxCursor  # the cursor after this tick, every removal done
    held_back: str | None = None  # why this tick's removals were held back (a mass removal)

    def cursor_keeping(self, keys: Iterable[str]) -> InboxCursor:
        """The next cursor with these removals not done yet (they are retried next tick)."""
        kept = {key: self.removed[key] for key in keys}
        if not kept:
            return self.cursor
        return InboxCursor({**self.cursor.decks, **kept}, self.cursor.logged, self.cursor.batch)


def plan_tick(
    listing: InboxListing,
    cursor: InboxCursor,
    *,
    now_ns: int,
    stable_seconds: float,
    max_requests: int | None = None,
    hashing_budget_s: float | None = None,
    allow_mass_removal: bool = False,
) -> TickPlan:
    """Compare the listing with the cursor. At most `max_requests` decks are requested, and no
    deck is read once `hashing_budget_s` seconds were spent reading (at least one is read); the
    others keep their state and are taken up on the next tick, in key order.

    A mass removal (see `mass_removal`) is held back unless `allow_mass_removal`: nothing is
    removed, the decks stay in the cursor, and `held_back` says why, on every tick it lasts."""
    stable_ns = int(stable_seconds * 1e9)
    started = time.monotonic()
    batch = cursor.batch + 1  # used only if this tick requests something
    decks: dict[str, DeckState] = {}
    requests: list[DeckRequest] = []
    waiting: list[str] = []
    deferred: list[str] = []
    touched: list[str] = []
    errors: dict[str, str] = {}
    hashed = 0
    for key in sorted(listing.files):
        seen = listing.files[key]
        before = cursor.decks.get(key)
        held_still = before is not None and (before.size, before.mtime_ns) == (
            seen.size,
            seen.mtime_ns,
        )
        if held_still and before is not None and before.requested:
            decks[key] = before  # the common case: nothing changed, nothing read
            continue
        last_requested = before.sha256 if before else None
        if not held_still or now_ns - seen.mtime_ns < stable_ns:
            decks[key] = DeckState(seen.size, seen.mtime_ns, last_requested, False)
            waiting.append(key)
            continue
        if (max_requests is not None and len(requests) >= max_requests) or (
            hashing_budget_s is not None
            and hashed
            and time.monotonic() - started >= hashing_budget_s
        ):
            decks[key] = DeckState(seen.size, seen.mtime_ns, last_requested, False)
            deferred.append(key)
            continue
        try:
            sha256, _ = file_hash(seen.path)
            hashed += 1
            after = os.stat(seen.path)
        except OSError as error:
            errors[key] = f"cannot be read ({error.strerror or error}); retried next tick"
            decks[key] = DeckState(seen.size, seen.mtime_ns, last_requested, False)
            continue
        if (after.st_size, after.st_mtime_ns) != (seen.size, seen.mtime_ns):
            decks[key] = DeckState(after.st_size, after.st_mtime_ns, last_requested, False)
            waiting.append(key)  # written to while we read it
            continue
        decks[key] = DeckState(seen.size, seen.mtime_ns, sha256, True)
        if sha256 == last_requested:
            touched.append(key)
        else:
            run_key = f"{key}:{sha256}:{batch}"  # never twice: Dagster skips a key it has seen
            requests.append(DeckRequest(key, sha256, last_requested is None, run_key))
    removed: dict[str, DeckState] = {}
    for key, state in cursor.decks.items():
        if key in decks:
            continue
        if _inside_any(key, listing.unreadable):
            decks[key] = state  # its folder could not be listed: not evidence of removal
        elif state.sha256 is not None:
            removed[key] = state
        # else: vanished before it was ever stable; nothing was requested, nothing to undo
    held_back = None if allow_mass_removal else mass_removal(listing, cursor, removed)
    if held_back:
        decks.update(removed)  # kept as they were: nothing is lost if the folder comes back
        removed = {}
    logged = frozenset(listing.skipped)
    return TickPlan(
        requests=requests,
        removed=removed,
        waiting=waiting,
        deferred=deferred,
        touched=touched,
        skipped={path: why for path, why in listing.skipped.items() if path not in cursor.logged},
        errors=errors,
        hashed=hashed,
        cursor=InboxCursor(decks, logged, batch if requests else cursor.batch),
        held_back=held_back,
    )


def mass_removal(
    listing: InboxListing, cursor: InboxCursor, removed: Mapping[str, DeckState]
) -> str | None:
    """Why removing `removed` at once looks like an accident rather than a user's choice, or None.

    An inbox with no deck at all while at least 2 indexed decks would go (a share that did not
    mount still has its empty mount point), or more than max(10, half the indexed decks) gone in
    one tick (a sync tool that wiped the folder for a moment)."""
    if not removed:
        return None
    indexed = sum(1 for state in cursor.decks.values() if state.sha256 is not None)
    if not listing.files and len(removed) >= EMPTY_INBOX_REMOVAL_MIN:
        why = "the inbox holds no deck at all (an unmounted share, a sync in progress?)"
    elif len(removed) > max(MASS_REMOVAL_MIN, indexed / 2):
        why = "more than half of the indexed decks are gone at once"
    else:
        return None
    return (
        f"{len(removed)} of {indexed} indexed deck(s) would be removed, and {why}: nothing "
        f"removed, they stay indexed; if they were really deleted, set "
        f"{ALLOW_MASS_REMOVAL_ENV}=1 in the code location's environment and restart it to "
        "remove them (and unset it afterwards)"
    )


def _inside_any(key: str, folders: Sequence[str]) -> bool:
    return any(folder == WHOLE_INBOX or key.startswith(folder + "/") for folder in folders)
