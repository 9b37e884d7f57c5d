#!/usr/bin/env bash
# The test suite, from a fresh clone: creates .venv if needed, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
