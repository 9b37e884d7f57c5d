#!/usr/bin/env bash
# The Dagster UI (webserver + daemon) on http://127.0.0.1:${PORT:-3000}, on the same OSMOSE_HOME
# and DAGSTER_HOME as `make demo`, so its runs and materializations are there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export OSMOSE_HOME="${OSMOSE_HOME:-$PWD/data}"
export DAGSTER_HOME="${DAGSTER_HOME:-$OSMOSE_HOME/dagster}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
exec "${OSMOSE_VENV:-.venv}"/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p "${PORT:-3000}"
