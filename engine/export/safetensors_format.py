"""`.safetensors` exports: the model's weights (state-dict names, e.g. `layers.dense.kernel`),
the fitted transform statistics as `transforms.<key>.<step>.<name>` tensors, and the resolved
experiment as JSON in the header's metadata, so trainer rebuilds the model without the
checkpoint. No pickle: safetensors holds only tensors and strings."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .extra import require

FORMAT = "trainer-safetensors-1"
TRANSFORMS = "transforms."


def save_safetensors(path: Path, state: dict[str, torch.Tensor], config: dict[str, Any],
                     transforms_state: dict[str, list[Any]]) -> None:
    save_file = require("safetensors.torch").save_file
    tensors = {name: t.detach().cpu().contiguous() for name, t in state.items()}
    for key, steps in transforms_state.items():
        for index, step in enumerate(steps):
            for name, tensor in (step or {}).items():
                tensors[f"{TRANSFORMS}{key}.{index}.{name}"] = tensor.contiguous()
    metadata = {"format": FORMAT, "config": json.dumps(config),
                "transform_steps": json.dumps({k: len(v) for k, v in transforms_state.items()})}
    save_file(tensors, str(path), metadata=metadata)


def is_safetensors_export(path: Path) -> bool:
    return Path(path).suffix.lower() == ".safetensors"


def load_safetensors(path: Path) -> dict[str, Any]:
    """A checkpoint-shaped state (config, models, data) from a safetensors export."""
    safetensors = require("safetensors")
    SafetensorError, safe_open = safetensors.SafetensorError, safetensors.safe_open
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("file not found", str(path))
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"not a readable safetensors file ({exc})", str(path)) from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"not a trainer safetensors export (expected format '{FORMAT}' "
                              f"in its metadata)", str(path))
    try:
        config = json.loads(metadata["config"])
        step_counts = json.loads(metadata["transform_steps"])
    except (KeyError, ValueError):
        raise CheckpointError("its metadata lacks the experiment config", str(path)) from None
    transforms: dict[str, list[Any]] = {key: [None] * count for key, count in step_counts.items()}
    weights = {}
    for name, tensor in tensors.items():
        if name.startswith(TRANSFORMS):
            key, index, stat = name[len(TRANSFORMS):].rsplit(".", 2)
            transforms[key][int(index)] = {**(transforms[key][int(index)] or {}), stat: tensor}
        else:
            weights[name] = tensor
    return {"config": config, "models": {"model": weights}, "data": {"transforms": transforms}}
