#!/usr/bin/env bash
# The GPU check, in one command: the CUDA-only tests, the GPU benchmark (trainer eager and with
# its step compiled into CUDA graphs, the hand-written loop, Keras 3, Lightning; MLP and CNN)
# and configs/mnist_fast.yaml over 10 seeds, all written to one results file.
#
#   bench/gpu_check.sh [--cpu] [STAGE...]     STAGE: env tests bench fast (default: all four)
#
# On the GPU machine (no internet; its python3 has a CUDA torch, lightning, h5py, typer, tqdm,
# pyyaml, pytest): first, here, `bench/gpu_wheels.sh` puts the missing wheels (pydantic, keras
# and their needs) in .whl/; the device call carries .whl and runs this script. The results go
# to $OUT/gpu_check.txt when $OUT is set (the device tool), else runs/gpu_check.txt.
# --cpu: the same stages on this machine's CPU with tiny sizes (a dry run of the script).
set -u -o pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DEVICE=cuda
if [ "${1:-}" = "--cpu" ]; then DEVICE=cpu; shift; fi
STAGES=${*:-env tests bench fast}
RESULTS=${OUT:-$REPO/runs}/gpu_check.txt
mkdir -p "$(dirname "$RESULTS")"
WORK=$(mktemp -d)
: > "$RESULTS"
say() { echo "$*" | tee -a "$RESULTS"; }
run() { echo "\$ $*" >> "$RESULTS"; "$@" 2>&1 | tee -a "$RESULTS"; }

# Python: with --cpu, this checkout's venv; else the machine's python3 ($GPU_CHECK_PYTHON
# to try another) with the carried wheels and this checkout importable as `trainer` (no build,
# no network).
if [ "$DEVICE" = cpu ] && [ -z "${GPU_CHECK_PYTHON:-}" ]; then
  PY=$REPO/.venv/bin/python
else
  PY=${GPU_CHECK_PYTHON:-python3}
  SITE=$WORK/site
  mkdir -p "$SITE/trainer"
  if compgen -G "$REPO/.whl/*.whl" > /dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" "$REPO"/.whl/*.whl
  fi
  for part in cli engine recipes; do ln -s "$REPO/$part" "$SITE/trainer/$part"; done
  export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
fi
export KERAS_BACKEND=torch PYTHONUNBUFFERED=1
TRAINER=("$PY" -m trainer.cli.main)

stage_env() {
  say "== env ($(date -u +%FT%TZ), device $DEVICE)"
  run "$PY" -c "import torch, sys; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
  run "$PY" -c "import trainer.engine; print('trainer from', trainer.engine.__file__)"
  for package in pydantic keras lightning; do
    run "$PY" -c "import importlib.metadata as m; print('$package', m.version('$package'))"
  done
  command -v nvidia-smi > /dev/null && run nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv
}

stage_tests() {
  say "== CUDA tests (skipped without CUDA, each with its reason)"
  # Every test that needs CUDA: tests/test_gpu.py, and the fp16 scaler resume in test_precision.
  run "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_gpu.py \
      "tests/test_precision.py::test_fp16_scaler_state_survives_resume"
}

stage_bench() {
  say "== bench (median epoch seconds, ratio to the plain loop)"
  if [ "$DEVICE" = cpu ]; then
    (cd bench && run "$PY" bench_mnist.py --device cpu --models mlp --only trainer trainer-jit plain \
        --repeats 1 --samples 2000)
    return
  fi
  (cd bench && run "$PY" bench_mnist.py --device cuda --repeats 5 --cnn-repeats 3)
  say "-- trainer-jit with compile.steps_per_execution=8 (MLP)"
  (cd bench && run "$PY" bench_mnist.py --device cuda --models mlp --only trainer-jit plain \
      --repeats 3 --steps-per-execution 8)
}

stage_fast() {
  say "== configs/mnist_fast.yaml: test accuracy and training seconds per seed"
  local extra=() seeds="0 1 2 3 4 5 6 7 8 9"
  if [ "$DEVICE" = cpu ]; then
    extra=(--set precision=32 --set channels_last=false --set data.train.limit=3000
           --set data.test.limit=1000 --set fit.epochs=1)
    seeds="0"
  fi
  for variant in eager step-cuda-graphs; do
    local flags=()
    # Compiling takes tens of seconds per process: three seeds show what it does to the time.
    [ "$variant" = step-cuda-graphs ] && seeds=${seeds:0:5}
    [ "$variant" = step-cuda-graphs ] && flags=(--set compile.jit_compile=step --set "compile.jit_mode=$([ "$DEVICE" = cuda ] && echo reduce-overhead || echo default)")
    [ "$variant" = step-cuda-graphs ] && [ "$DEVICE" = cpu ] && continue  # inductor: minutes on a CPU
    for seed in $seeds; do
      (cd "$WORK" && "${TRAINER[@]}" fit "$REPO/configs/mnist_fast.yaml" --device "$DEVICE" --quiet \
          --run-dir "fast-$variant-$seed" --set "seed=$seed" "${extra[@]}" "${flags[@]}" \
          > "$WORK/fast.log" 2>&1) || { cat "$WORK/fast.log" | tee -a "$RESULTS"; continue; }
    done
    "$PY" - "$WORK" "$variant" <<'EOF' | tee -a "$RESULTS"
import json, statistics, sys
from pathlib import Path
work, variant = Path(sys.argv[1]), sys.argv[2]
rows = []
for run in sorted(work.glob(f"fast-{variant}-*")):
    accuracy = json.loads((run / "metrics.json").read_text())["sparse_categorical_accuracy"]
    seconds = json.loads((run / "history.json").read_text())["history"]["seconds"]
    rows.append((run.name.rsplit("-", 1)[1], accuracy, sum(seconds), seconds))
for seed, accuracy, total, seconds in rows:
    print(f"{variant} seed {seed}: test accuracy {accuracy:.4f}, training {total:.3f} s "
          f"(epochs {', '.join(f'{s:.3f}' for s in seconds)})")
if rows:
    accuracies = [r[1] for r in rows]
    print(f"{variant}: mean accuracy {statistics.mean(accuracies):.4f}, min {min(accuracies):.4f}, "
          f"median training {statistics.median(r[2] for r in rows):.3f} s over {len(rows)} seeds "
          f"(target: mean >= 0.990, none below 0.989, <= 0.5 s)")
EOF
  done
}

for stage in $STAGES; do "stage_$stage"; done
say "== done; results in $RESULTS"
rm -rf "$WORK"
