"""The drop-folder logic on real files: listing, stability, content identity, removal, cursor."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from osmose_dagster.core.errors import OsmoseError, UnsafeDocumentPathError
from osmose_dagster.core.inbox.files import describe, locate
from osmose_dagster.core.inbox.scan import (
    InboxCursor,
    TickPlan,
    is_deck_name,
    list_inbox,
    plan_tick,
)

STABLE_S = 5.0
SECOND = 1_000_000_000


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def drop(inbox: Path, key: str, content: bytes = b"deck", age_s: float = 60) -> Path:
    """Write a file under the inbox, its mtime `age_s` seconds in the past."""
    path = inbox / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    old = time.time_ns() - int(age_s * SECOND)
    os.utime(path, ns=(old, old))
    return path


class Inbox:
    """Ticks of the plan over a real folder, carrying the cursor the way the sensor does."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.cursor = InboxCursor()

    def tick(self, now_ns: int | None = None, allow_mass_removal: bool = False) -> TickPlan:
        plan = plan_tick(
            list_inbox(self.folder, known_keys=self.cursor.decks),
            self.cursor,
            now_ns=time.time_ns() if now_ns is None else now_ns,
            stable_seconds=STABLE_S,
            allow_mass_removal=allow_mass_removal,
        )
        self.cursor = plan.cursor
        return plan

    def settle(self) -> TickPlan:
        """Two ticks: the first sees the files, the second requests those that held still."""
        self.tick()
        return self.tick()


def requested(plan: TickPlan) -> list[str]:
    return [request.key for request in plan.requests]


def test_a_deck_is_requested_only_once_it_held_still_for_a_tick(inbox):
    ticks = Inbox(inbox)
    drop(inbox, "deck.pptx", b"first part")
    first = ticks.tick()
    assert requested(first) == [] and first.waiting == ["deck.pptx"]  # seen once: not yet

    drop(inbox, "deck.pptx", b"first part, and the rest")  # size changed since the last tick
    second = ticks.tick()
    assert requested(second) == [] and second.waiting == ["deck.pptx"]

    third = ticks.tick()  # same size and mtime as last tick, and old enough
    assert requested(third) == ["deck.pptx"]
    assert third.requests[0].new and third.hashed == 1


def test_caps_leave_the_other_stable_decks_to_the_next_tick_in_key_order(inbox):
    for i in range(5):
        drop(inbox, f"d{i}.pptx", bytes([i]))
    cursor = InboxCursor()
    now = time.time_ns()

    def tick(**caps) -> TickPlan:
        nonlocal cursor
        plan = plan_tick(list_inbox(inbox), cursor, now_ns=now, stable_seconds=STABLE_S, **caps)
        cursor = plan.cursor
        return plan

    tick()  # first sight
    capped = tick(max_requests=2)
    assert requested(capped) == ["d0.pptx", "d1.pptx"] and capped.hashed == 2
    assert capped.deferred == ["d2.pptx", "d3.pptx", "d4.pptx"]
    # No time left for reading: still one deck per tick, so the inbox is always worked through.
    hurried = tick(hashing_budget_s=0)
    assert requested(hurried) == ["d2.pptx"] and hurried.deferred == ["d3.pptx", "d4.pptx"]
    rest = tick()
    assert requested(rest) == ["d3.pptx", "d4.pptx"] and rest.hashed == 2


def test_a_deck_whose_mtime_is_too_recent_waits_until_it_is_old_enough(inbox):
    path = drop(inbox, "fresh.pptx", age_s=0)
    mtime = path.stat().st_mtime_ns
    ticks = Inbox(inbox)
    ticks.tick(now_ns=mtime + 1 * SECOND)
    assert requested(ticks.tick(now_ns=mtime + 2 * SECOND)) == []  # unchanged but 2 s old
    assert requested(ticks.tick(now_ns=mtime + 6 * SECOND)) == ["fresh.pptx"]


def test_lock_hidden_temp_and_other_files_are_ignored(inbox):
    for name in [
        "~$deck.pptx",  # PowerPoint's lock file
        "~WRL0001.tmp",
        "deck.pptx.tmp",
        ".deck.pptx.partial",  # what add_to_inbox writes before its rename
        "deck.pptx.partial",
        ".hidden.pptx",
        ".git/inside_hidden_folder.pptx",
        "notes.txt",
        "deck.pdf",
    ]:
        drop(inbox, name)
    os.mkfifo(inbox / "pipe.pptx")  # not a regular file
    (inbox / "folder.pptx").mkdir()  # a folder, walked, not a deck
    for name in ["Deck.PPTX", "macro.pptm", "template.potx", "show.ppsx", "legacy.ppt"]:
        drop(inbox, name)
    drop(inbox, "folder.pptx/inner.pptx")

    assert sorted(list_inbox(inbox).files) == [
        "Deck.PPTX",
        "folder.pptx/inner.pptx",
        "legacy.ppt",
        "macro.pptm",
        "show.ppsx",
        "template.potx",
    ]
    assert not is_deck_name("~$x.pptx") and is_deck_name("x.PpTx")


def test_decks_in_subfolders_are_found_under_their_relative_path(inbox):
    drop(inbox, "sales/2026/q3/review.pptx")
    drop(inbox, "sales/kickoff.pptx")
    plan = Inbox(inbox).settle()
    assert requested(plan) == ["sales/2026/q3/review.pptx", "sales/kickoff.pptx"]


def test_changed_content_is_requested_again_and_a_touch_is_not(inbox):
    ticks = Inbox(inbox)
    path = drop(inbox, "deck.pptx", b"version 1")
    first = ticks.settle().requests[0]

    drop(inbox, "deck.pptx", b"version 2")
    ticks.tick()
    changed = ticks.tick()
    assert requested(changed) == ["deck.pptx"]
    again = changed.requests[0]
    assert not again.new and again.sha256 != first.sha256 and again.run_key != first.run_key

    old = time.time_ns() - 30 * SECOND  # touched: new mtime, same bytes
    os.utime(path, ns=(old, old))
    assert ticks.tick().waiting == ["deck.pptx"]
    touched = ticks.tick()
    assert requested(touched) == [] and touched.touched == ["deck.pptx"] and touched.hashed == 1
    quiet = ticks.tick()
    assert requested(quiet) == [] and quiet.hashed == 0 and quiet.cursor == ticks.cursor


def test_nothing_changed_reads_nothing_and_keeps_the_cursor(inbox):
    for i in range(5):
        drop(inbox, f"d{i}.pptx", bytes([i]))
    ticks = Inbox(inbox)
    ticks.settle()
    before = ticks.cursor
    plan = ticks.tick()
    assert (requested(plan), plan.hashed, plan.waiting) == ([], 0, [])
    assert plan.cursor.to_json() == before.to_json()


def test_a_removed_deck_is_reported_once_and_leaves_the_cursor(inbox):
    ticks = Inbox(inbox)
    drop(inbox, "keep.pptx", b"k")
    gone = drop(inbox, "gone.pptx", b"g")
    ticks.settle()
    gone.unlink()
    plan = ticks.tick()
    assert list(plan.removed) == ["gone.pptx"] and requested(plan) == []
    assert set(plan.cursor.decks) == {"keep.pptx"}
    assert ticks.tick().removed == {}


def test_a_deck_gone_before_it_was_ever_requested_is_not_a_removal(inbox):
    ticks = Inbox(inbox)
    path = drop(inbox, "brief.pptx")
    ticks.tick()  # seen, not yet requested
    path.unlink()
    plan = ticks.tick()
    assert plan.removed == {} and plan.cursor.decks == {}


def test_a_removal_that_could_not_be_done_is_kept_for_the_next_tick(inbox):
    ticks = Inbox(inbox)
    path = drop(inbox, "gone.pptx")
    ticks.settle()
    path.unlink()
    plan = ticks.tick()
    ticks.cursor = plan.cursor_keeping(["gone.pptx"])  # e.g. the store was busy
    assert list(ticks.tick().removed) == ["gone.pptx"]


def test_a_readded_deck_gets_a_new_run_key(inbox):
    # Dagster never launches a run key twice for a sensor: the same file put back after its
    # removal must still be indexed again.
    ticks = Inbox(inbox)
    path = drop(inbox, "deck.pptx", b"same bytes")
    first = ticks.settle().requests[0]
    path.unlink()
    assert list(ticks.tick().removed) == ["deck.pptx"]
    drop(inbox, "deck.pptx", b"same bytes")
    back = ticks.settle().requests[0]
    assert back.sha256 == first.sha256 and back.new and back.run_key != first.run_key


def test_a_missing_inbox_is_not_taken_for_an_empty_one(inbox, tmp_path):
    ticks = Inbox(inbox)
    drop(inbox, "deck.pptx")
    ticks.settle()
    inbox.rename(tmp_path / "unmounted")
    plan = ticks.tick()
    assert plan.removed == {} and set(plan.cursor.decks) == {"deck.pptx"}
    assert "cannot be listed" in plan.skipped[str(inbox)]


def test_links_outside_the_inbox_are_skipped_and_logged_once(inbox, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.pptx").write_bytes(b"outside")
    (inbox / "secret.pptx").symlink_to(outside / "secret.pptx")
    (inbox / "linked_folder").symlink_to(outside, target_is_directory=True)
    drop(inbox, "real.pptx")
    (inbox / "alias.pptx").symlink_to(inbox / "real.pptx")  # inside: the same document

    ticks = Inbox(inbox)
    first = ticks.tick()
    assert set(first.skipped) == {"secret.pptx", "linked_folder"}
    assert "outside the inbox" in first.skipped["secret.pptx"]
    second = ticks.tick()
    assert second.skipped == {}  # already logged
    assert requested(second) == ["real.pptx"]


def test_a_name_dagster_refuses_is_skipped_without_stopping_the_tick(inbox):
    drop(inbox, "bad...name.pptx")
    drop(inbox, "good.pptx")
    ticks = Inbox(inbox)
    first = ticks.tick()
    assert "Dagster refuses" in first.skipped["bad...name.pptx"]
    assert requested(ticks.tick()) == ["good.pptx"]


def test_cursor_round_trips_through_compact_json(inbox):
    drop(inbox, "a/b.pptx", b"b")
    drop(inbox, "c.pptx", b"c")
    (inbox / "out.pptx").symlink_to("/etc/hostname")
    ticks = Inbox(inbox)
    ticks.settle()
    drop(inbox, "c.pptx", b"c changed")
    ticks.tick()  # c.pptx: waiting, with its last requested hash kept
    text = ticks.cursor.to_json()
    assert " " not in text and "\n" not in text
    assert InboxCursor.from_json(text) == ticks.cursor
    assert InboxCursor.from_json(None) == InboxCursor()
    state = InboxCursor.from_json(text).decks["c.pptx"]
    assert state.sha256 is not None and not state.requested


def test_a_cursor_the_sensor_did_not_write_is_a_clear_error():
    with pytest.raises(OsmoseError, match="reset the sensor's cursor"):
        InboxCursor.from_json('{"files": []}')


# ---------------------------------------------------------------------------------------------
# Path safety: nothing makes the pipeline read outside the inbox.


def test_a_link_to_a_deck_outside_the_inbox_is_never_read(inbox, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.pptx").write_bytes(b"outside")
    (inbox / "secret.pptx").symlink_to(outside / "secret.pptx")
    ticks = Inbox(inbox)
    assert "outside the inbox" in ticks.tick().skipped["secret.pptx"]
    assert requested(ticks.tick()) == []
    # a run asked for it anyway (the UI, a link made after the sensor saw a real file): refused
    with pytest.raises(UnsafeDocumentPathError, match=r"secret\.pptx: a link to .*outside"):
        locate(inbox, "secret.pptx")
    with pytest.raises(UnsafeDocumentPathError, match=r"secret\.pptx"):
        describe(inbox, "secret.pptx")


def test_a_deck_inside_a_linked_folder_outside_the_inbox_is_never_read(inbox, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "deck.pptx").write_bytes(b"outside")
    (inbox / "shared").symlink_to(outside, target_is_directory=True)
    ticks = Inbox(inbox)
    first = ticks.tick()
    assert "outside the inbox" in first.skipped["shared"] and first.cursor.decks == {}
    with pytest.raises(UnsafeDocumentPathError, match=r"shared/deck\.pptx"):
        locate(inbox, "shared/deck.pptx")


@pytest.mark.parametrize(
    "key",
    [
        "../elsewhere/deck.pptx",
        "a/../../elsewhere/deck.pptx",
        "a/../deck.pptx",
        "",
        "/etc/hostname",
    ],
)
def test_keys_with_dotdot_or_absolute_are_refused_before_any_lookup(inbox, tmp_path, key):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "deck.pptx").write_bytes(b"outside")
    drop(inbox, "deck.pptx")
    with pytest.raises(UnsafeDocumentPathError, match=r"absolute, or with '\.\.'"):
        locate(inbox, key)


def test_a_link_to_a_deck_inside_the_inbox_is_that_deck(inbox):
    real = drop(inbox, "real.pptx")
    (inbox / "alias.pptx").symlink_to(real)
    assert locate(inbox, "alias.pptx") == real.resolve()
    assert locate(inbox, "real.pptx") == real.resolve()


# ---------------------------------------------------------------------------------------------
# The mass-removal guard: an inbox emptied (or mostly emptied) at once removes nothing.


def indexed_inbox(inbox: Path, count: int) -> tuple[Inbox, list[Path]]:
    paths = [drop(inbox, f"d{i:02}.pptx", bytes([i])) for i in range(count)]
    ticks = Inbox(inbox)
    assert len(ticks.settle().requests) == count
    return ticks, paths


def test_an_emptied_inbox_removes_nothing_tick_after_tick_and_loses_nothing(inbox):
    ticks, paths = indexed_inbox(inbox, 3)
    known = ticks.cursor
    kept = [(path, path.read_bytes(), path.stat().st_mtime_ns) for path in paths]
    for path in paths:  # an unmounted share: the mount point is there, empty
        path.unlink()
    for _ in range(2):
        plan = ticks.tick()
        assert plan.removed == {} and plan.cursor.to_json() == known.to_json()
        assert "3 of 3 indexed deck(s)" in plan.held_back
        assert "no deck at all" in plan.held_back
        assert "OSMOSE_ALLOW_MASS_REMOVAL=1" in plan.held_back
    for path, content, mtime_ns in kept:  # mounted again
        path.write_bytes(content)
        os.utime(path, ns=(mtime_ns, mtime_ns))
    back = ticks.tick()
    assert (back.held_back, back.removed, requested(back), back.hashed) == (None, {}, [], 0)


def test_more_than_half_of_the_decks_gone_at_once_is_held_back(inbox):
    ticks, paths = indexed_inbox(inbox, 30)
    for path in paths[:16]:  # 16 > max(10, 30 / 2)
        path.unlink()
    plan = ticks.tick()
    assert plan.removed == {} and len(plan.cursor.decks) == 30
    assert "16 of 30 indexed deck(s)" in plan.held_back and "more than half" in plan.held_back


def test_a_few_decks_removed_are_removed(inbox):
    ticks, paths = indexed_inbox(inbox, 30)
    for path in paths[:10]:  # 10 is not more than max(10, 30 / 2)
        path.unlink()
    plan = ticks.tick()
    assert plan.held_back is None and len(plan.removed) == 10
    assert len(plan.cursor.decks) == 20


def test_the_one_deck_of_an_inbox_removed_is_removed(inbox):
    ticks, (path,) = indexed_inbox(inbox, 1)
    path.unlink()
    plan = ticks.tick()
    assert plan.held_back is None and list(plan.removed) == ["d00.pptx"]


def test_a_mass_removal_is_done_once_allowed(inbox):
    ticks, paths = indexed_inbox(inbox, 12)
    for path in paths:
        path.unlink()
    assert ticks.tick().held_back  # not allowed: held back, still in the cursor
    plan = ticks.tick(allow_mass_removal=True)
    assert plan.held_back is None and len(plan.removed) == 12 and plan.cursor.decks == {}
