"""What a run ran on: trainer and torch versions, Python, device and precision. Recorded in
events.jsonl when a run starts or resumes; read back by `trainer runs diff` and the trackers."""
from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

import torch


def trainer_version() -> str:
    try:
        return metadata.version("trainer")
    except metadata.PackageNotFoundError:
        return "unknown"


def run_environment(device: Any, precision: str) -> dict[str, str]:
    device = torch.device(device)
    name = str(device)
    if device.type == "cuda":
        name += f" ({torch.cuda.get_device_name(device)})"
    return {"trainer": trainer_version(), "torch": torch.__version__,
            "python": platform.python_version(), "device": name, "precision": str(precision)}
