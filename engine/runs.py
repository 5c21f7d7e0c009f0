"""`trainer runs`: what each run directory under a folder says about itself in status.json
(state, epochs done, the monitored quantity and its best value so far)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class RunInfo:
    name: str
    state: str
    epoch: int
    best: float | None
    monitor: str | None
    path: Path

    @property
    def best_text(self) -> str:
        return "-" if self.best is None else f"{self.monitor}={self.best:.4f}"


def list_runs(directory: Path) -> list[RunInfo]:
    if not Path(directory).is_dir():
        return []
    out = []
    for path in sorted(p for p in Path(directory).iterdir() if (p / "status.json").is_file()):
        status = _read_json(path / "status.json")
        out.append(RunInfo(path.name, status.get("state", "?"), status.get("epoch", 0),
                           status.get("best"), status.get("monitor"), path))
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
