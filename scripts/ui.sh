#!/usr/bin/env bash
# The Dagster UI (webserver + daemon, `dg dev`) on http://127.0.0.1:${PORT:-3000}, on the same
# OSMOSE_HOME and DAGSTER_HOME as `make demo`, so its runs and materializations are there. The drop
# folder is $OSMOSE_HOME/inbox (the code location creates it when it loads).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export OSMOSE_HOME="${OSMOSE_HOME:-$PWD/data}"
export DAGSTER_HOME="${DAGSTER_HOME:-$OSMOSE_HOME/dagster}"
venv="$(cd "${OSMOSE_VENV:-.venv}" && pwd)"
# $DAGSTER_HOME/dagster.yaml follows osmose_dagster/instance/dagster.yaml (a note says if not).
"$venv/bin/python" -m osmose_dagster.instance.home
echo "drop decks into $OSMOSE_HOME/inbox; the UI is on http://127.0.0.1:${PORT:-3000}" >&2
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
exec "$venv/bin/dg" dev --use-active-venv -h 127.0.0.1 -p "${PORT:-3000}"
