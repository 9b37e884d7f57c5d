"""Why a drop-folder tick started no run, in one line: Dagster shows it as the tick's skip reason
in the UI (Automation → the sensor → its ticks), where a user looks first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from osmose_dagster.core.inbox.scan import WHOLE_INBOX, InboxListing, TickPlan

NAMES_SHOWN = 5


def idle_tick_reason(
    inbox: Path,
    listing: InboxListing,
    plan: TickPlan,
    *,
    stable_seconds: float,
    removed: Sequence[str] = (),
    already_indexed: Sequence[str] = (),
) -> str:
    """The tick's state, most pressing first: an inbox that cannot be listed, decks that cannot
    be read, removals held back, decks still being written, then what is simply up to date."""
    if WHOLE_INBOX in listing.unreadable:
        why = listing.skipped.get(str(inbox), "it cannot be listed")
        return f"inbox {inbox} cannot be listed: {_cause(why)}; nothing is added or removed"
    parts: list[str] = []
    if plan.errors:
        parts.append(
            f"{len(plan.errors)} deck(s) cannot be read, retried next tick: {_some(plan.errors)}"
        )
    folders = [folder for folder in listing.unreadable if folder != WHOLE_INBOX]
    if folders:
        parts.append(
            f"{len(folders)} folder(s) cannot be listed, their decks kept: {_some(folders)}"
        )
    if plan.held_back:
        parts.append(f"removal held back: {plan.held_back}")
    if plan.waiting:
        parts.append(
            f"{len(plan.waiting)} deck(s) waiting to hold still for {stable_seconds:g} s "
            f"(OSMOSE_STABLE_SECONDS): {_some(plan.waiting)}"
        )
    if plan.deferred:
        parts.append(f"{len(plan.deferred)} deck(s) left for the next tick (this tick's cap)")
    if already_indexed:
        parts.append(
            f"{len(already_indexed)} already indexed with this content: {_some(already_indexed)}"
        )
    if plan.touched:
        parts.append(f"{len(plan.touched)} touched, same content: {_some(plan.touched)}")
    if removed:
        parts.append(f"{len(removed)} removed from the index: {_some(removed)}")
    if listing.skipped:
        parts.append(
            f"{len(listing.skipped)} file(s) not taken, see the daemon log: {_some(listing.skipped)}"
        )
    if not listing.files and not parts:
        return f"inbox {inbox} is empty: drop .pptx decks into it"
    if not parts or not (plan.waiting or plan.deferred or plan.errors):
        parts.append(f"{len(listing.files)} deck(s) in the inbox, none new or changed")
    return "; ".join(parts)


def _cause(why: str) -> str:
    """'the inbox cannot be listed (No such file or directory)' -> 'No such file or directory'."""
    start, end = why.find("("), why.rfind(")")
    return why[start + 1 : end] if 0 <= start < end else why


def _some(names) -> str:
    names = sorted(names)
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
