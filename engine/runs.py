"""`trainer runs`: what the run directories under a folder say about themselves (read through
RunDir): state, epochs, the best monitored value and its epoch, wall time, and the config keys
whose values differ between the listed runs."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from .config import keypath
from .errors import TrainerError
from .registry import suggest
from .state.rundir import RunDir

UNSET = object()  # a key one run's config has and another's lacks


@dataclass
class RunInfo:
    name: str
    path: Path
    state: str
    epochs: int
    step: int | None
    monitor: str | None
    best: float | None
    best_epoch: int | None           # 1-based, as the progress lines count
    wall_seconds: float | None
    history: dict[str, list] = field(repr=False, default_factory=dict)
    recorded_epochs: list[int] = field(repr=False, default_factory=list)  # history.json `epoch`
    config: dict[str, Any] = field(repr=False, default_factory=dict)
    differences: dict[str, Any] = field(default_factory=dict)

    @property
    def best_text(self) -> str:
        return "-" if self.best is None else f"{self.monitor}={self.best:.4f}"

    def extreme(self, key: str, highest: bool) -> float | None:
        """The highest (or lowest) value a logged quantity reached."""
        values = [v for v in self.history.get(key, []) if v is not None]
        return (max if highest else min)(values) if values else None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "state": self.state,
                "epochs": self.epochs, "step": self.step, "monitor": self.monitor,
                "best": self.best, "best_epoch": self.best_epoch,
                "wall_seconds": self.wall_seconds,
                "final": {k: v[-1] for k, v in self.history.items() if v and k != "seconds"},
                "config_differences": {k: None if v is UNSET else v
                                       for k, v in self.differences.items()}}


def list_runs(directory: Path, sort: str | None = None) -> list[RunInfo]:
    """The runs in `directory` (or `directory` itself when it is a run), with their config
    differences filled in, in `sort` order (see `sort_key`)."""
    directory = Path(directory)
    if RunDir.is_run(directory):
        paths = [directory]
    elif directory.is_dir():
        paths = sorted(p for p in directory.iterdir() if RunDir.is_run(p))
    else:
        paths = []
    runs = [read_run(path) for path in paths]
    for run, differences in zip(runs, config_differences([r.config for r in runs])):
        run.differences = differences
    if sort:
        key, reverse = sort_key(sort, runs)
        present = [r for r in runs if key(r) is not None]
        runs = sorted(present, key=key, reverse=reverse) + [r for r in runs if key(r) is None]
    return runs


def read_run(path: Path) -> RunInfo:
    run_dir = RunDir(path)
    status = run_dir.read_status()
    history, epochs = run_dir.read_history()
    monitor, best = status.get("monitor"), status.get("best")
    best_epoch = None
    if best is not None and best in history.get(monitor, []):
        row = history[monitor].index(best)
        best_epoch = (epochs[row] if row < len(epochs) else row) + 1
    return RunInfo(path.name, path, status.get("state", "?"), status.get("epoch", 0),
                   status.get("step"), monitor, best, best_epoch, _wall_seconds(run_dir, history),
                   history, epochs, run_dir.read_config_or_empty())


COLUMN_SORTS: dict[str, Callable[[RunInfo], Any]] = {
    "name": lambda r: r.name, "state": lambda r: r.state, "epochs": lambda r: r.epochs,
    "best": lambda r: r.best, "time": lambda r: r.wall_seconds}


def sort_key(sort: str, runs: list[RunInfo]) -> tuple[Callable[[RunInfo], Any], bool]:
    """`name`, `state`, `epochs`, `best`, `time`, or a logged quantity (`val_loss`): the lowest
    value each run reached first; a leading '-' reverses (`-val_accuracy`: highest first)."""
    reverse = sort.startswith("-")
    name = sort.lstrip("-")
    if name in COLUMN_SORTS:
        return COLUMN_SORTS[name], reverse
    logged = sorted({k for r in runs for k in r.history})
    if runs and name not in logged:
        choices = ", ".join([*COLUMN_SORTS, *logged])
        raise TrainerError(f"cannot sort by '{name}'{suggest(name, logged)}: use one of {choices} "
                           f"(a leading '-' sorts from the highest)")
    return (lambda r: r.extreme(name, highest=reverse)), reverse


def config_differences(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each config, {key path: its value} for the keys whose values are not the same in
    every config, at the shallowest path where they part (`model.layers` when the layer lists
    differ in length, `model.layers[0].units` when only that differs); `name` left out, since
    every run has its own. UNSET where a config lacks the key."""
    found: dict[str, list] = {}
    _find_differences(configs, (), found)
    return [{key: values[i] for key, values in found.items()} for i in range(len(configs))]


def _find_differences(values: list, path: tuple, found: dict[str, list]) -> None:
    if all(isinstance(v, dict) for v in values):
        for key in dict.fromkeys(k for v in values for k in v):
            if path or key != "name":
                _find_differences([v.get(key, UNSET) for v in values], (*path, key), found)
    elif all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
        for i in range(len(values[0])):
            _find_differences([v[i] for v in values], (*path, i), found)
    elif any(v != values[0] for v in values):
        found[keypath.join(path)] = values


def _wall_seconds(run_dir: RunDir, history: dict[str, list]) -> float | None:
    """The epochs' own times (history `seconds`); else the span of the run's events."""
    seconds = [s for s in history.get("seconds", []) if isinstance(s, (int, float))]
    if seconds:
        return float(sum(seconds))
    stamps = []
    for event in run_dir.read_events():
        try:
            stamps.append(datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S%z").timestamp())
        except (ValueError, KeyError, TypeError):
            pass
    return max(stamps) - min(stamps) if len(stamps) > 1 else None
