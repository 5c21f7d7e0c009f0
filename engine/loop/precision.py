"""Mixed precision: the autocast context for a step and the fp16 gradient scaler."""
from __future__ import annotations

import contextlib

import torch

_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def autocast(precision: str, device: torch.device):
    if precision == "32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=_DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    if precision == "16-mixed":
        return torch.amp.GradScaler(device.type)
    return None
