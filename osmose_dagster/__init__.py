"""osmose_dagster: PowerPoint decks into a Qdrant vector index, as Dagster assets."""

__version__ = "0.1.0"
