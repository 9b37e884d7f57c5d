"""Plain Python, no Dagster import: extraction, segmentation, embedding, indexing."""
