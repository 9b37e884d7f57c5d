#!/usr/bin/env bash
# Bad and real-world input through the real path (drop folder -> sensor -> run): the decks of
# ../shared/corpus/real and the crafted bad files, one table row per file. Arguments go to
# bench/robustness.py (--only corpus|crafted, --limit N, --json PATH, --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec "${OSMOSE_VENV:-.venv}"/bin/python -m bench.robustness "$@"
