"""Plugins the Dagster daemon loads from dagster.yaml (run coordinator, run launchers) and the Dagster-side helpers they share with defs/; nothing here imports the definitions."""
