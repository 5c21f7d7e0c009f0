"""Batch iteration in a deterministic order (a permutation per (seed, epoch), so resume is
exact): staged on the device once, or streamed from an HDF5 file larger than the memory budget.
`make_batches` picks one for a split."""
from __future__ import annotations

from typing import Any

import torch

from ..sources.hdf5_stream import StreamSplit
from .device_batches import Batch, DeviceBatches, epoch_permutation, epoch_plan
from .stream_batches import StreamBatches


def make_batches(split: Any, batch_size: int, device: torch.device, shuffle: bool = False,
                 seed: int = 0) -> DeviceBatches | StreamBatches:
    """StreamBatches for a split streamed from its file, DeviceBatches for one in memory."""
    kind = StreamBatches if isinstance(split, StreamSplit) else DeviceBatches
    return kind(split, batch_size, device, shuffle=shuffle, seed=seed)


__all__ = ["Batch", "DeviceBatches", "StreamBatches", "epoch_permutation", "epoch_plan",
           "make_batches"]
