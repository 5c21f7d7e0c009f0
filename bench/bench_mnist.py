"""Epoch time of trainer versus a hand-written PyTorch loop on the mnist.yaml model.

Both train the same model from the same initial weights on the same 50,000 device-resident
images, in the same data order and batch size, with RMSprop; the plain loop also accumulates
loss and accuracy on the device, as a hand-written loop that reports them would. The two
alternate in one process; the script prints the median epoch seconds and the ratio.

    .venv/bin/python bench/bench_mnist.py [--repeats 5] [--device cpu]
"""
from __future__ import annotations

import argparse
import copy
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from trainer.engine.components import build_components
from trainer.engine.config import load_experiment
from trainer.engine.data.batches import epoch_permutation
from trainer.engine.loop.device import resolve_device
from trainer.engine.loop.fit import FitLoop
from trainer.engine.state.rundir import RunDir

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "mnist.yaml"
# The training part of mnist.yaml (50,000 images), one epoch, no validation.
OVERRIDES = ["fit.epochs=1", "fit.validation_split=0.0", "data.train.limit=50000", "fit.callbacks=[]"]


def trainer_epoch(components, initial: dict, run_dir: Path) -> float:
    components.models["model"].load_state_dict(initial)
    loop = FitLoop(components, [], RunDir(run_dir))
    start = time.perf_counter()
    loop.run()
    _sync(components.device)
    return time.perf_counter() - start


def plain_epoch(model: torch.nn.Module, initial: dict, x: torch.Tensor, y: torch.Tensor,
                batch_size: int, seed: int, device: torch.device) -> float:
    model.load_state_dict(initial)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7, foreach=True)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    start = time.perf_counter()
    order = epoch_permutation(len(x), seed, 0).to(device)
    for i in range(0, len(x), batch_size):
        index = order[i: i + batch_size]
        xb, yb = x.index_select(0, index), y.index_select(0, index)
        probs = model(xb)
        loss = F.nll_loss(probs.clamp(1e-7, 1 - 1e-7).log(), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(xb)
        correct += (probs.argmax(-1) == yb).sum()
    # A plain loop reads its epoch loss and accuracy once, at the end.
    (loss_sum / len(x)).item(), (correct / len(x)).item()
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    device = resolve_device(args.device)
    experiment = load_experiment(CONFIG, OVERRIDES)
    components = build_components(experiment, device, ("train",))
    initial = copy.deepcopy(components.models["model"].state_dict())
    plain_model = copy.deepcopy(components.models["model"])
    train = components.data.train
    x = torch.from_numpy(train.x["digits"]).to(device)
    y = torch.from_numpy(train.y["predictions"]).to(device)
    batch_size, seed = experiment.config.fit.batch_size, experiment.config.seed

    times: dict[str, list[float]] = {"trainer": [], "plain": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats + 1):  # the first round warms up and is not counted
            t = trainer_epoch(components, initial, Path(tmp) / f"run{repeat}")
            p = plain_epoch(plain_model, initial, x, y, batch_size, seed, device)
            if repeat:
                times["trainer"].append(t)
                times["plain"].append(p)

    trainer_median = statistics.median(times["trainer"])
    plain_median = statistics.median(times["plain"])
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"device {device}, torch {torch.__version__}")
    print(f"mnist MLP, 50,000 samples, batch {batch_size}, {args.repeats} alternating repeats")
    print(f"trainer  median epoch {trainer_median:.3f} s  (all: {', '.join(f'{t:.3f}' for t in times['trainer'])})")
    print(f"plain    median epoch {plain_median:.3f} s  (all: {', '.join(f'{t:.3f}' for t in times['plain'])})")
    print(f"ratio trainer/plain: {trainer_median / plain_median:.3f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
