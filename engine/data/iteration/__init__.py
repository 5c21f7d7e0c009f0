"""Batch iteration in a deterministic order (a permutation per (seed, epoch), so resume is
exact): staged on the device once, streamed from a file larger than the memory budget (HDF5,
an image folder), or asked of a Python data source batch by batch. `make_batches` picks one
for a split; `first_batch` is one batch of any split (what `trainer validate` checks)."""
from __future__ import annotations

from typing import Any

import torch

from ..sources.hdf5_stream import StreamSplit
from ..sources.python_source import PythonSource
from .device_batches import Batch, DeviceBatches, epoch_permutation, epoch_plan
from .python_batches import PythonBatches
from .stream_batches import StreamBatches


def make_batches(split: Any, batch_size: int, device: torch.device, shuffle: bool = False,
                 seed: int = 0) -> DeviceBatches | StreamBatches | PythonBatches:
    """StreamBatches for a split streamed from its file, PythonBatches for a Python data
    source, DeviceBatches for one in memory."""
    kind = (StreamBatches if isinstance(split, StreamSplit) else
            PythonBatches if isinstance(split, PythonSource) else DeviceBatches)
    return kind(split, batch_size, device, shuffle=shuffle, seed=seed)


def first_batch(split: Any, batch_size: int, device: torch.device) -> Batch:
    """The first batch of a split, without staging the rest of it."""
    if not isinstance(split, PythonSource):
        split = split.slice(0, batch_size)
    return next(make_batches(split, batch_size, device).epoch(0))


__all__ = ["Batch", "DeviceBatches", "PythonBatches", "StreamBatches", "epoch_permutation",
           "epoch_plan", "first_batch", "make_batches"]
