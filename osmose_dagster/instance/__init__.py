"""Plugins the Dagster daemon loads from dagster.yaml (run coordinator, run launcher); the code location does not import them."""
