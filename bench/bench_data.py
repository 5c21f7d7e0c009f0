"""Training throughput of the MNIST MLP (Keras guide) from an HDF5 file streamed from disk
versus the same data staged in memory: samples/second of each and their ratio (target >= 0.8).

Run: .venv/bin/python bench/bench_data.py [--epochs N] [--budget 32MB] [--device auto]"""
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
from trainer.engine.data.mnist import load_mnist
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


def throughput(config: dict, device: torch.device, epochs: int) -> tuple[float, str]:
    components = build_components(resolve_experiment(config, {}), device, ("train",))
    batches = make_batches(components.data.train, config["fit"]["batch_size"], device,
                           shuffle=True, seed=config["seed"])
    recipe = components.recipe
    for step, batch in enumerate(batches.epoch(0)):  # warm-up: kernels, allocator, page cache
        recipe.train_step(batch)
        if step == 50:
            break
    samples, logs = 0, {}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for batch in batches.epoch(epoch):
            logs = recipe.train_step(batch)
        samples += batches.size
    {k: float(v) for k, v in logs.items()}  # wait for the device
    kind = "streamed" if isinstance(batches, StreamBatches) else "in memory"
    return samples / (time.perf_counter() - start), kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--budget", default="32MB", help="memory budget that makes it stream")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    images, labels = load_mnist("train")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mnist.h5"
        with h5py.File(path, "w") as handle:
            handle.create_dataset("images", data=images, chunks=(128, 28, 28))
            handle.create_dataset("labels", data=labels)
        results = {}
        for budget in ("64GB", args.budget):
            rate, kind = throughput(experiment(path, budget, args.batch_size), device, args.epochs)
            results[kind] = rate
            print(f"{kind:>10}: {rate:12,.0f} samples/s  (memory_budget {budget}, {device})")
    ratio = results["streamed"] / results["in memory"]
    print(f"streamed / in memory: {ratio:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
