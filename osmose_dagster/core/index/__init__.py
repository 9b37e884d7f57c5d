"""Points -> the vector engine (Qdrant Edge embedded, a Qdrant server by URL) and the search request."""

from osmose_dagster.core.index.store import (
    DocumentPoints,
    IndexLocation,
    VectorIndex,
    collection_name_for,
    index_location,
    open_index,
)

__all__ = [
    "DocumentPoints",
    "IndexLocation",
    "VectorIndex",
    "collection_name_for",
    "index_location",
    "open_index",
]
