"""Epoch time of `trainer fit` on the MNIST MLP (configs/mnist.yaml) with the experiment
trackers off, with TensorBoard, with MLflow (a local sqlite store) and with both. Each round
runs every variant once (the order rotates), a fresh run of --epochs epochs each; the first
round is a warm-up (it also creates the MLflow store, whose migrations run on the logger's
thread during that run's first epochs) and the first epoch of every run is left out (MLflow
connects then, TensorBoard traces the graph). Prints the median epoch seconds of each variant
and its ratio to the run without trackers.

    KERAS_BACKEND=torch .venv/bin/python bench/bench_trackers.py [--rounds 3] [--epochs 3]
                                                                  [--limit 60000] [--device cpu]
                                                                  [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The config's own ModelCheckpoint stays in every variant.
CHECKPOINT = "{type: ModelCheckpoint, monitor: val_loss, save_best_only: true}"
MLFLOW = "loggers={mlflow: {tracking_uri: 'sqlite:///{store}'}}"
VARIANTS = {
    "none": [f"fit.callbacks=[{CHECKPOINT}]"],
    "tensorboard": [f"fit.callbacks=[{CHECKPOINT}, TensorBoard]"],
    "mlflow": [f"fit.callbacks=[{CHECKPOINT}]", MLFLOW],
    "both": [f"fit.callbacks=[{CHECKPOINT}, TensorBoard]", MLFLOW],
}


def run(variant: str, folder: Path, args: argparse.Namespace, round_: int) -> list[float]:
    from trainer.engine.config import load_experiment
    from trainer.engine.fit_session import FitOptions, fit
    store = folder / "mlflow.db"
    overrides = [o.replace("{store}", str(store)) for o in VARIANTS[variant]]
    overrides += [f"fit.epochs={args.epochs}", f"data.train.limit={args.limit}",
                  "data.test.limit=1000"]
    experiment = load_experiment(REPO / "configs/mnist.yaml", overrides)
    run_dir = folder / f"{variant}-{round_}"
    fit(experiment, FitOptions(run_dir=run_dir, device=args.device, progress="quiet"))
    history = json.loads((run_dir / "history.json").read_text())["history"]
    return history["seconds"][1:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=60000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    names = list(VARIANTS)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds + 1):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                epochs = run(name, Path(tmp), args, round_)
                print(f"round {round_} {name}: {epochs}", file=sys.stderr, flush=True)
                if round_:  # round 0 warms up
                    seconds[name] += epochs
    base = statistics.median(seconds["none"])
    print(f"MNIST MLP, {args.limit} training images, {args.device}, {args.threads} thread(s), "
          f"median epoch seconds over {args.rounds} rounds x {args.epochs - 1} epochs")
    for name in names:
        median = statistics.median(seconds[name])
        print(f"  {name:12s} {median:7.3f} s   x{median / base:.3f}")


if __name__ == "__main__":
    main()
