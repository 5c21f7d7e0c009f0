"""`trainer runs`: what each run directory under a folder says about itself."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


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
        history = _read_json(path / "history.json").get("history", {})
        monitor = _monitor(path)
        values = [v for v in history.get(monitor, []) if v is not None] if monitor else []
        mode_max = monitor is not None and ("acc" in monitor or "auc" in monitor)
        best = (max(values) if mode_max else min(values)) if values else None
        out.append(RunInfo(path.name, status.get("state", "?"), status.get("epoch", 0), best,
                           monitor, path))
    return out


def _monitor(path: Path) -> str | None:
    """The first callback's monitor, else val_loss or loss."""
    try:
        config = yaml.safe_load((path / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    for callback in (config.get("fit") or {}).get("callbacks") or []:
        if isinstance(callback, dict) and "monitor" in callback:
            return callback["monitor"]
    history = _read_json(path / "history.json").get("history", {})
    return "val_loss" if "val_loss" in history else "loss" if "loss" in history else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
