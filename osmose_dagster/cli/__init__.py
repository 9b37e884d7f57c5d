"""The `osmose` command line: ingest through Dagster runs, search, segment, extract, status, remove."""

from osmose_dagster.cli.main import main

__all__ = ["main"]
