"""`make bench`: epoch time of trainer (eager, and `trainer-jit`: the whole train step compiled,
`compile.jit_compile: step`, with CUDA graphs on CUDA) versus a hand-written PyTorch loop,
Keras 3 `model.fit` and PyTorch Lightning `Trainer.fit`, on the MNIST MLP (configs/mnist.yaml)
and CNN (configs/mnist_cnn.yaml). The contenders alternate, one epoch each per round (the order
rotates every round), in one process; the first round is a warm-up. Prints median epoch
seconds, the ratio of each to the plain loop, and test accuracy after the last round.

    .venv/bin/python bench/bench_mnist.py [--models mlp cnn] [--repeats 5] [--cnn-repeats 3]
                                          [--only trainer trainer-jit plain] [--device cpu]
                                          [--steps-per-execution 1]
"""
from __future__ import annotations

import argparse
import logging
import platform
import statistics
import warnings

import torch

from contenders import (MODELS, SAMPLES, KerasContender, LightningContender, MnistData, PlainContender,
                        TrainerContender)
from trainer.engine.loop.device import resolve_device

TARGETS = {"mlp": 1.10, "cnn": 1.05}


CONTENDERS = ["trainer", "trainer-jit", "plain", "keras", "lightning"]


def build(name: str, data: MnistData, optimizer: tuple[str, float], steps_per_execution: int):
    if name == "trainer":
        return TrainerContender(data)
    if name == "trainer-jit":
        mode = "reduce-overhead" if data.device.type == "cuda" else "default"
        return TrainerContender(data, name, ("compile.jit_compile=step", f"compile.jit_mode={mode}",
                                             f"compile.steps_per_execution={steps_per_execution}"))
    if name == "plain":
        return PlainContender(data, optimizer)
    if name == "keras":
        return KerasContender(data, optimizer)
    return LightningContender(data, optimizer)


def bench_model(model: str, names: list[str], repeats: int, device: torch.device,
                steps_per_execution: int, samples: int) -> None:
    data = MnistData(model, device, samples)
    contenders = [build(n, data, MODELS[model]["optimizer"], steps_per_execution) for n in names]
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for round_ in range(repeats + 1):
        # Rotate who goes first, so a machine getting busier or quieter favours nobody.
        for contender in contenders[round_ % len(contenders):] + contenders[:round_ % len(contenders)]:
            seconds = contender.epoch()
            if round_:
                times[contender.name].append(seconds)
    plain = statistics.median(times["plain"]) if "plain" in times else None
    print(f"\n{model.upper()}: {len(data.x_train):,} training samples, batch 64, "
          f"{repeats} rounds after a warm-up, device {device}")
    print(f"{'':11} {'median s':>9} {'vs plain':>9} {'test acc':>9}   all epochs (s)")
    for contender in contenders:
        median = statistics.median(times[contender.name])
        ratio = f"{median / plain:.3f}" if plain else "-"
        print(f"{contender.name:11} {median:9.3f} {ratio:>9} {contender.accuracy():9.4f}   "
              + ", ".join(f"{t:.2f}" for t in times[contender.name]))
    if plain and "trainer" in times:
        ratio = statistics.median(times["trainer"]) / plain
        print(f"trainer/plain {ratio:.3f} (target <= {TARGETS[model]:.2f}: "
              f"{'met' if ratio <= TARGETS[model] else 'NOT met'})")
    if plain and "trainer-jit" in times:
        print(f"trainer-jit/plain {statistics.median(times['trainer-jit']) / plain:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"], choices=list(MODELS))
    parser.add_argument("--only", nargs="+", default=CONTENDERS, choices=CONTENDERS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cnn-repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="trainer-jit's compile.steps_per_execution")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="training images")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if "lightning" in args.only:
        import lightning  # noqa: F401  (imported first so its loggers exist to be quietened)
        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).setLevel(logging.ERROR)
    device = resolve_device(args.device)
    print(f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    for model in args.models:
        bench_model(model, args.only, args.cnn_repeats if model == "cnn" else args.repeats, device,
                    args.steps_per_execution, args.samples)


if __name__ == "__main__":
    main()
