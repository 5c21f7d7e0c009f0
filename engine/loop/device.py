"""Device choice: `auto` = cuda, then mps, then cpu."""
from __future__ import annotations

import torch

from ..errors import ConfigError


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"unknown device '{spec}' (expected auto, cpu, cuda, cuda:N or mps)",
                          "device") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device cuda asked for, but CUDA is not available here", "device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{spec}: this machine has {torch.cuda.device_count()} CUDA device(s)",
                              "device")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device mps asked for, but MPS is not available here", "device")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unsupported device '{spec}'", "device")
    return device
