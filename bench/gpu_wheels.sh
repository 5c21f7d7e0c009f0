#!/usr/bin/env bash
# Puts in .whl/ the wheels that bench/gpu_check.sh needs on the GPU machine and that its image
# lacks (it has torch, lightning, numpy, h5py, typer, tqdm, pyyaml, rich, pytest; not pydantic
# or keras): the versions installed in this checkout's .venv, for CPython 3.12 on x86-64 Linux.
# Run it here (it uses pip's ordinary index); then carry `.whl` in the device call.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES="pydantic pydantic_core annotated_types typing_inspection typing_extensions keras namex optree"
pins=()
for name in $PACKAGES; do
  version=$(.venv/bin/python -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
  pins+=("$name==$version")
done
rm -rf .whl && mkdir .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .whl "${pins[@]}"
ls -l .whl && du -sh .whl
