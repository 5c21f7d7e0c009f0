"""Batch iteration over a split staged on the device once.

Each epoch's order is a permutation drawn from (seed, epoch) alone, so a run resumed at
step k of epoch e sees exactly the batches it would have seen. Batches are gathered on the
device: no host work or transfer per step."""
from __future__ import annotations

import math
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch

from .arrays import ArraySplit


class Batch(NamedTuple):
    x: Any                  # tensor, or dict input name -> tensor
    y: Any                  # tensor, dict output name -> tensor, or None
    sample_weight: torch.Tensor | None


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def _to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype == torch.float64:
        tensor = tensor.float()
    return tensor.to(device)


class DeviceBatches:
    """A split's tensors on `device`, iterated in batches."""

    def __init__(self, split: ArraySplit, batch_size: int, device: torch.device,
                 shuffle: bool = False, seed: int = 0):
        self.size = len(split)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.device = device
        self.x = {k: _to_tensor(v, device) for k, v in split.x.items()}
        self.y = None if split.y is None else {k: _to_tensor(v, device) for k, v in split.y.items()}
        self.sample_weight = (None if split.sample_weight is None
                              else _to_tensor(split.sample_weight, device).float())
        self._single_x = len(self.x) == 1
        self._single_y = self.y is not None and len(self.y) == 1

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
        return Batch(next(iter(x.values())) if self._single_x else x,
                     next(iter(y.values())) if self._single_y else y, w)
