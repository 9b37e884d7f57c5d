"""Dagster wiring only: no algorithm lives here (see core/)."""

import warnings

from dagster import BetaWarning

# Output(data_version=...) and backfill_policy are beta in 1.13; we rely on them knowingly.
warnings.filterwarnings("ignore", category=BetaWarning)
