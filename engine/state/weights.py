"""model.weights.h5: one HDF5 dataset per parameter/buffer name (a group per model when a
recipe has several), written atomically."""
from __future__ import annotations

import io
from pathlib import Path

import h5py
import torch
from torch import nn

from ..data.sources.unreadable import UNREADABLE, reason
from ..errors import CheckpointError
from .atomic import atomic_write


def save_weights_h5(path: Path, models: dict[str, nn.Module]) -> None:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        for model_name, model in models.items():
            group = handle if len(models) == 1 else handle.create_group(model_name)
            for name, tensor in model.state_dict().items():
                group.create_dataset(name, data=tensor.detach().cpu().numpy())
    atomic_write(Path(path), lambda h: h.write(buffer.getbuffer()))


def load_weights_h5(path: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    try:
        with h5py.File(path, "r") as handle:
            handle.visititems(lambda name, obj: out.__setitem__(name, torch.from_numpy(obj[()]))
                              if isinstance(obj, h5py.Dataset) else None)
    except (*UNREADABLE, TypeError) as exc:  # TypeError: a dataset torch cannot hold
        raise CheckpointError(f"not a readable weights file: expected HDF5 datasets of numbers "
                              f"({reason(exc)})", str(path)) from None
    return out
