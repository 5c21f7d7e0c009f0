"""PythonBatches: the batches of a Python data source, moved to the device one by one. The
source decides the batches (their size and order); the loop only says which epoch and from
which batch, so a resume at step k asks for batch k again."""
from __future__ import annotations

from typing import Iterator

import torch

from ..sources.python_source import PythonSource
from .device_batches import Batch, assemble, to_tensor


class PythonBatches:
    def __init__(self, source: PythonSource, batch_size: int, device: torch.device,
                 shuffle: bool = False, seed: int = 0):
        # batch_size and shuffle are the source's own business (Keras ignores them too).
        self.source = source
        self.device = device

    def __len__(self) -> int:
        return len(self.source)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        for part in self.source.batches(epoch, start_step):
            x = {k: to_tensor(v, self.device) for k, v in part.x.items()}
            y = None if part.y is None else {k: to_tensor(v, self.device) for k, v in part.y.items()}
            w = None if part.sample_weight is None else \
                to_tensor(part.sample_weight, self.device).float()
            yield assemble(x, y, w)
