"""What the durable checkpoint protocol costs: epoch time of the MNIST MLP (Keras guide, 60,000
images, batch 128: 469 steps) with checkpoints every N batches, with the protocol as shipped
(fsync of the file and of the directory, SHA-256 seal, rotation) and with fsync turned off
(what a runner that trusts the page cache does). Also the seal alone: SHA-256 of one
checkpoint.

Run: .venv/bin/python bench/bench_fsync.py [--every 10 50] [--repeats 3]
Each variant trains `--epochs` epochs in this process; the median epoch time is reported."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from typer.testing import CliRunner

from trainer.cli.main import app

CONFIG = """
name: bench_fsync
seed: 1337
device: cpu
data:
  train: {source: mnist, split: train}
  transforms: {x: [{reshape: [784]}, {scale: 0.00392156862745098}]}
model:
  inputs: {digits: [784]}
  layers:
    - {type: Dense, units: 64, activation: relu}
    - {type: Dense, units: 64, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
compile: {optimizer: rmsprop, loss: sparse_categorical_crossentropy,
          metrics: [sparse_categorical_accuracy]}
fit: {batch_size: 128, epochs: EPOCHS, checkpoint_every: EVERY}
"""


def epoch_seconds(folder: Path, every: int | None, epochs: int, fsync: bool) -> list[float]:
    config = folder / "bench.yaml"
    config.write_text(CONFIG.replace("EPOCHS", str(epochs)).replace("EVERY", str(every or "null")))
    run_dir = folder / f"run-{every}-{fsync}-{time.monotonic_ns()}"
    real_fsync = os.fsync
    if not fsync:
        os.fsync = lambda fd: None
    try:
        result = CliRunner().invoke(app, ["fit", str(config), "--quiet", "--run-dir", str(run_dir)])
    finally:
        os.fsync = real_fsync
    assert result.exit_code == 0, result.output
    return json.loads((run_dir / "history.json").read_text())["history"]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(dir=".") as tmp:  # the disk the runs would use
        folder = Path(tmp)
        variants = [(None, True)] + [(e, f) for e in args.every for f in (False, True)]
        times: dict[tuple, list[float]] = {v: [] for v in variants}
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits all alike
            for every, fsync in variants:
                times[(every, fsync)] += epoch_seconds(folder, every, args.epochs, fsync)
        checkpoint = next(folder.glob("run-*/checkpoints/last.pt")).read_bytes()
    base = statistics.median(times[(None, True)])
    print(f"{'checkpoints':<22} {'fsync':<6} {'median epoch s':>14} {'vs none':>8}")
    for (every, fsync), values in times.items():
        label = f"every {every} batches" if every else "epoch end only"
        median = statistics.median(values)
        print(f"{label:<22} {'on' if fsync else 'off':<6} {median:>14.3f} {median / base - 1:>+8.1%}")
    started = time.perf_counter()
    for _ in range(20):
        hashlib.sha256(checkpoint).digest()
    seal_ms = (time.perf_counter() - started) / 20 * 1000
    print(f"SHA-256 seal of one {len(checkpoint) / 1e6:.2f} MB checkpoint: {seal_ms:.2f} ms")


if __name__ == "__main__":
    main()
