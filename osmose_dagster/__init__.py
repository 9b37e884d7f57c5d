"""osmose_dagster: PowerPoint decks into a Qdrant vector index, as Dagster assets.

For Python applications, `search` answers as `osmose search` does (README, "Search from Python").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from osmose_dagster.core.index.store import Hit

__version__ = "0.1.0"
__all__ = ["search"]


def search(
    query: str,
    limit: int = 5,
    *,
    document: str | Sequence[str] | None = None,
    file: str | Sequence[str] | None = None,
) -> list[Hit]:
    """The best `limit` results for `query` in the index this environment points at
    (OSMOSE_HOME's embedded store, or QDRANT_URL; OSMOSE_MODEL), best first, ranked as
    `osmose search` ranks them. `document` / `file`: only results from those (a key as
    `osmose status` lists it, or a file name). Each result has the fields of
    `osmose search --json`: document, file, first_slide, last_slide, title, score, text
    (`dataclasses.asdict(result)` gives that dict). Raises `osmose_dagster.core.errors.OsmoseError`
    (UsageError for a query with nothing to search for, IndexBusyError, IndexUnavailableError)
    with a message a person can read."""
    from osmose_dagster.core.search import search as run

    def listed(value: str | Sequence[str] | None) -> list[str] | None:
        return [value] if isinstance(value, str) else (list(value) if value is not None else None)

    return run(query, limit, documents=listed(document), files=listed(file))
