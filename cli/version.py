"""`trainer --version`: trainer's and torch's versions and the devices torch can use. torch is
imported only where a GPU driver is present, so the answer is instant on a CPU-only machine."""
from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path


def version_text() -> str:
    return "\n".join([f"trainer {_version('trainer')}", f"torch {_version('torch')}",
                      f"devices: {', '.join(devices())}"])


def devices() -> list[str]:
    found = ["cpu"]
    if Path("/proc/driver/nvidia/gpus").is_dir() or Path("/dev/nvidia0").exists():
        import torch
        found += [f"cuda:{i} ({torch.cuda.get_device_name(i)})"
                  for i in range(torch.cuda.device_count())]
    elif sys.platform == "darwin" and platform.machine() == "arm64":
        import torch
        if torch.backends.mps.is_available():
            found.append("mps")
    return found


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
