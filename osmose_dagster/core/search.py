"""A search as a person or an application asks for it: the query checked, embedded with the
deployment's model, and ranked by the index (core/index/ranking.py). Used by `osmose search` and
by `osmose_dagster.search`."""

from __future__ import annotations

from collections.abc import Sequence

from osmose_dagster.core.errors import UsageError
from osmose_dagster.core.index import index_location, open_index
from osmose_dagster.core.index.store import Hit, VectorIndex
from osmose_dagster.core.settings import Settings


def check_query(query: str) -> str:
    """The query, stripped; a clear error when there is nothing to search for."""
    text = query.strip()
    if not text:
        raise UsageError('search: the query is empty; say what to look for: osmose search "QUERY"')
    if not any(character.isalnum() for character in text):
        raise UsageError(
            f"search: {text!r} has no letters or digits to search for; type words, a name or a "
            "line from a slide"
        )
    return text


def query_embedder(settings: Settings):
    """The deployment's model for queries: loaded once per process, no compute slot."""
    from osmose_dagster.core.model import load_embedder

    return load_embedder(settings.model, settings.device, settings.batch_size)


def search_in(
    index: VectorIndex,
    embedder,
    query: str,
    limit: int,
    documents: Sequence[str] | None = None,
    files: Sequence[str] | None = None,
) -> list[Hit]:
    text = check_query(query)
    vector = embedder.embed_queries([text])[0]
    return index.search(vector, limit, text, documents=documents, files=files)


def search(
    query: str,
    limit: int = 5,
    documents: Sequence[str] | None = None,
    files: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> list[Hit]:
    settings = settings or Settings.from_env()
    embedder = query_embedder(settings)
    with open_index(index_location(settings)) as index:
        return search_in(index, embedder, query, limit, documents, files)
