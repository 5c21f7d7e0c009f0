"""`.pt2` exports: the torch.export program (transforms included), saved with
torch.export.save and loaded back with torch.export.load."""
from __future__ import annotations

from pathlib import Path

import torch


def save_pt2(path: Path, program: torch.export.ExportedProgram) -> None:
    torch.export.save(program, str(path))


def load_pt2(path: Path) -> torch.nn.Module:
    return torch.export.load(str(path)).module()
