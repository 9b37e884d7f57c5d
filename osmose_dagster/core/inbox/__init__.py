"""The drop folder: which decks are there, which are stable, their keys and hashes."""

from osmose_dagster.core.inbox.files import add_to_inbox, describe, locate
from osmose_dagster.core.inbox.scan import DeckRequest, InboxCursor, TickPlan, list_inbox, plan_tick

__all__ = [
    "DeckRequest",
    "InboxCursor",
    "TickPlan",
    "add_to_inbox",
    "describe",
    "list_inbox",
    "locate",
    "plan_tick",
]
