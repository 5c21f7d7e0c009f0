"""Speed settings applied to a run's models before training: torch.compile of each model
(`compile.jit_compile: true`; `step` compiles the whole train step instead, in
step_compile.py), channels-last memory format for convolutional models
(`channels_last`), and cudnn.benchmark when every input shape is static on CUDA; and the
`deterministic` switch."""
from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn


def use_deterministic(enabled: bool) -> None:
    """torch.use_deterministic_algorithms, plus the cuBLAS workspace setting that CUDA needs
    for deterministic matrix products (cuBLAS reads it when it starts: before the first one)."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=False)


def accelerate(models: dict[str, nn.Module], cfg: Any, device: torch.device) -> None:
    if device.type == "cuda" and not cfg.deterministic:
        static = all(None not in shape for m in models.values()
                     for shape in getattr(m, "input_shapes", {}).values())
        torch.backends.cudnn.benchmark = static
    for model in models.values():
        if cfg.channels_last and _has_conv2d(model):
            model.to(memory_format=torch.channels_last)
        if cfg.compile.jit_compile is True:
            # In place: the module keeps its state_dict keys, so checkpoints are unchanged.
            model.compile()


def _has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())
