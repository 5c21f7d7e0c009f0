"""Batch iteration over a split staged on the device once (the fast path for data that fits).

Each epoch's order is a permutation drawn from (seed, epoch) alone, so a run resumed at
step k of epoch e sees exactly the batches it would have seen. Batches are gathered on the
device: no host work or transfer per step."""
from __future__ import annotations

import math
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch

from ..arrays import ArraySplit


class Batch(NamedTuple):
    x: Any                  # tensor, or dict input name -> tensor
    y: Any                  # tensor, dict output name -> tensor, or None
    sample_weight: torch.Tensor | None


def epoch_plan(epoch: int, steps_per_epoch: int | None, num_batches: int) -> tuple[int, int, int]:
    """(pass over the data, its first batch, number of steps) for an epoch. With
    `steps_per_epoch` (Keras 3) the pass continues across epochs; an epoch that reaches the
    pass's end stops there, and the next epoch starts a new pass in a new order."""
    if not steps_per_epoch:
        return epoch, 0, num_batches
    epochs_per_pass = max(1, math.ceil(num_batches / steps_per_epoch))
    data_pass, index = divmod(epoch, epochs_per_pass)
    first = index * steps_per_epoch
    return data_pass, first, min(steps_per_epoch, num_batches - first)


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """float64 becomes float32 (the models' dtype); other dtypes are kept."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype == torch.float64:
        tensor = tensor.float()
    return tensor.to(device)


def assemble(x: dict[str, torch.Tensor], y: dict[str, torch.Tensor] | None,
             sample_weight: torch.Tensor | None) -> Batch:
    """A Batch: a single input/output as a tensor, several as dicts."""
    return Batch(next(iter(x.values())) if len(x) == 1 else x,
                 next(iter(y.values())) if y is not None and len(y) == 1 else y, sample_weight)


class DeviceBatches:
    """A split's tensors on `device`, iterated in batches."""

    def __init__(self, split: ArraySplit, batch_size: int, device: torch.device,
                 shuffle: bool = False, seed: int = 0):
        self.size = len(split)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.device = device
        self.x = {k: to_tensor(v, device) for k, v in split.x.items()}
        self.y = None if split.y is None else {k: to_tensor(v, device) for k, v in split.y.items()}
        self.sample_weight = (None if split.sample_weight is None
                              else to_tensor(split.sample_weight, device).float())

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        if self.shuffle:
            order = epoch_permutation(self.size, self.seed, epoch).to(self.device)
            take = lambda t, i: t.index_select(0, order[i: i + self.batch_size])  # noqa: E731
        else:
            take = lambda t, i: t[i: i + self.batch_size]  # noqa: E731
        for start in range(start_step * self.batch_size, self.size, self.batch_size):
            yield self._batch(take, start)

    def _batch(self, take, start: int) -> Batch:
        x = {k: take(v, start) for k, v in self.x.items()}
        y = None if self.y is None else {k: take(v, start) for k, v in self.y.items()}
        w = None if self.sample_weight is None else take(self.sample_weight, start)
        return assemble(x, y, w)
