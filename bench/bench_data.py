"""Training throughput of the MNIST MLP (Keras guide) from an HDF5 file streamed from disk
versus the same data staged in memory: samples/second of each and their ratio (target >= 0.8).

Run: .venv/bin/python bench/bench_data.py [--epochs N] [--budget 128MB] [--device auto]
The data is written to a temporary HDF5 file with 128-image chunks."""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import torch

from trainer.engine.components import build_components
from trainer.engine.config import resolve_experiment
from trainer.engine.data import StreamBatches, make_batches
from trainer.engine.data.sources.mnist import load_mnist
from trainer.engine.loop.device import resolve_device


def experiment(path: Path, budget: str, batch_size: int) -> dict:
    return {
        "name": "bench_data", "seed": 1337,
        "data": {"train": {"source": "hdf5", "path": str(path), "x": "images", "y": "labels"},
                 "memory_budget": budget,
                 "transforms": {"x": [{"reshape": [784]}, {"scale": 1 / 255}]}},
        "model": {"inputs": {"digits": [784]}, "layers": [
            {"type": "Dense", "units": 64, "activation": "relu"},
            {"type": "Dense", "units": 64, "activation": "relu"},
            {"type": "Dense", "units": 10, "activation": "softmax", "name": "predictions"}]},
        "compile": {"optimizer": {"type": "RMSprop", "learning_rate": 0.001},
                    "loss": "sparse_categorical_crossentropy",
                    "metrics": ["sparse_categorical_accuracy"]},
        "fit": {"batch_size": batch_size, "shuffle": True},
    }


class Trainer:
    """One mode's components and batches; `epoch()` trains one epoch and returns samples/s."""

    def __init__(self, config: dict, device: torch.device):
        components = build_components(resolve_experiment(config, {}), device, ("train",))
        self.recipe = components.recipe
        self.batches = make_batches(components.data.train, config["fit"]["batch_size"], device,
                                    shuffle=True, seed=config["seed"])
        self.kind = "streamed" if isinstance(self.batches, StreamBatches) else "in memory"
        self.epochs = 0
        for step, batch in enumerate(self.batches.epoch(0)):  # warm-up: kernels, allocator
            self.recipe.train_step(batch)
            if step == 50:
                break

    def epoch(self) -> float:
        self.epochs += 1
        logs = {}
        start = time.perf_counter()
        for batch in self.batches.epoch(self.epochs):
            logs = self.recipe.train_step(batch)
        {k: float(v) for k, v in logs.items()}  # wait for the device
        return self.batches.size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per mode, alternated")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--budget", default="128MB", help="memory budget below the 188 MB of "
                        "float32 images, so that they stream")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)  # steady timings on a shared CPU; the reader thread gets a core
    images, labels = load_mnist("train")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mnist.h5"
        with h5py.File(path, "w") as handle:
            handle.create_dataset("images", data=images, chunks=(128, 28, 28))
            handle.create_dataset("labels", data=labels)
        trainers = [Trainer(experiment(path, budget, args.batch_size), device)
                    for budget in ("64GB", args.budget)]
        if trainers[1].kind != "streamed":
            raise SystemExit(f"--budget {args.budget} holds the data in memory; give less")
        best = {t.kind: 0.0 for t in trainers}
        for _ in range(args.epochs):  # alternate, so both see the same machine load
            for trainer in trainers:
                best[trainer.kind] = max(best[trainer.kind], trainer.epoch())
    for kind, rate in best.items():
        print(f"{kind:>10}: {rate:12,.0f} samples/s (best epoch of {args.epochs}; {device}, "
              f"memory_budget {'64GB' if kind == 'in memory' else args.budget})")
    ratio = best["streamed"] / best["in memory"]
    print(f"streamed / in memory: {ratio:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
