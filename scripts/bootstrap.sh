#!/usr/bin/env bash
# Creates .venv with the pinned packages, once per change of pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${OSMOSE_VENV:-.venv}"
stamp="$venv/.installed-from"
wanted="$(sha256sum pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
python="$(command -v python3.11 || command -v python3)"
echo "setting up $venv with $($python --version) (first time: a few minutes) ..." >&2
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "pip>=24"
# The CPU wheel of torch lies on this machine's disk; installing it first keeps pip from
# resolving a CUDA build of several GB for sentence-transformers.
"$venv/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0
# dev: the tools and test packages; k8s: the Kubernetes run launcher, which its tests load.
"$venv/bin/pip" install --quiet --disable-pip-version-check -e ".[dev,k8s]"
echo "$wanted" > "$stamp"
