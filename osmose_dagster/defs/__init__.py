"""Dagster wiring only: no algorithm lives here (see core/)."""
