#!/usr/bin/env bash
# The main job on the embedded defaults: write the sample decks, ingest them through Dagster
# (one run for the batch, recorded in the Dagster instance), then answer a search.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export OSMOSE_HOME="${OSMOSE_HOME:-$PWD/data}"
export DAGSTER_HOME="${DAGSTER_HOME:-$OSMOSE_HOME/dagster}"
bin="${OSMOSE_VENV:-.venv}/bin"
$bin/python -m osmose_dagster.cli.samples "$OSMOSE_HOME/samples" >/dev/null
$bin/osmose ingest "$OSMOSE_HOME"/samples/*.pptx
echo
query="${1:-How much GPU quota does each team get?}"
echo "osmose search \"$query\""
$bin/osmose search "$query" --limit 3
