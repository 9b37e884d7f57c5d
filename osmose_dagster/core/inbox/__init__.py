"""The drop folder: which decks are there, which are stable, their keys and hashes."""

from osmose_dagster.core.inbox.files import add_to_inbox, describe, ensure_inbox, locate
from osmose_dagster.core.inbox.scan import DeckRequest, InboxCursor, TickPlan, list_inbox, plan_tick
from osmose_dagster.core.inbox.tick_reason import idle_tick_reason

__all__ = [
    "DeckRequest",
    "InboxCursor",
    "TickPlan",
    "add_to_inbox",
    "describe",
    "ensure_inbox",
    "idle_tick_reason",
    "list_inbox",
    "locate",
    "plan_tick",
]
