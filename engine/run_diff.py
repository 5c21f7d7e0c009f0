"""`trainer runs diff RUN_A RUN_B`: two runs side by side -- the config keys whose values
differ, the final and best value of each logged quantity with the delta (B - A), epochs, wall
time, and the environment each ran on (trainer and torch versions, device, precision)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TrainerError
from .runs import UNSET, RunInfo, config_differences, read_run
from .state.rundir import RunDir

ENVIRONMENT_KEYS = ("trainer", "torch", "python", "device", "precision")
NOT_METRICS = ("seconds",)  # an epoch's time: wall time has it
FINAL_ONLY = ("lr",)        # no better or worse learning rate


@dataclass
class MetricRow:
    name: str
    final: tuple[float | None, float | None]
    best: tuple[float | None, float | None]
    higher_is_better: bool

    @property
    def final_delta(self) -> float | None:
        return _delta(*self.final)

    @property
    def best_delta(self) -> float | None:
        return _delta(*self.best)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "final": list(self.final), "final_delta": self.final_delta,
                "best": list(self.best), "best_delta": self.best_delta,
                "higher_is_better": self.higher_is_better}


@dataclass
class RunDiff:
    a: RunInfo
    b: RunInfo
    config: dict[str, tuple[Any, Any]]
    metrics: list[MetricRow]
    environment: dict[str, tuple[str | None, str | None]]

    def as_json(self) -> dict[str, Any]:
        plain = lambda v: None if v is UNSET else v  # noqa: E731
        return {
            "runs": [_run_json(self.a), _run_json(self.b)],
            "config": {k: [plain(a), plain(b)] for k, (a, b) in self.config.items()},
            "metrics": [row.as_json() for row in self.metrics],
            "environment": {k: list(v) for k, v in self.environment.items()},
        }


def diff_runs(path_a: Path, path_b: Path) -> RunDiff:
    a, b = (_read(Path(p)) for p in (path_a, path_b))
    differences_a, differences_b = config_differences([a.config, b.config])
    config = {key: (differences_a[key], differences_b[key]) for key in differences_a}
    names = [k for k in dict.fromkeys([*a.history, *b.history]) if k not in NOT_METRICS]
    metrics = []
    for name in names:
        higher = higher_is_better(name)
        best = (None, None) if name in FINAL_ONLY else (a.extreme(name, higher),
                                                        b.extreme(name, higher))
        metrics.append(MetricRow(name, (_final(a, name), _final(b, name)), best, higher))
    env_a, env_b = run_environment_of(a.path), run_environment_of(b.path)
    environment = {k: (env_a.get(k), env_b.get(k)) for k in ENVIRONMENT_KEYS}
    return RunDiff(a, b, config, metrics, environment)


def higher_is_better(name: str) -> bool:
    """Losses go down; a metric goes the way its class says (accuracy, AUC, F1 up); a name
    trainer does not know (a recipe's own log) is taken to be a loss-like quantity."""
    from .errors import ConfigError
    from .metrics import METRICS
    base = name.removeprefix("val_")
    if base == "loss" or base.endswith("_loss"):
        return False
    try:
        return METRICS.build(base, name).direction == "up"
    except (ConfigError, TypeError, ValueError):
        return False


def run_environment_of(path: Path) -> dict[str, str]:
    """The environment of the run's latest invocation (its last started/resumed event);
    empty for a run recorded before trainer noted it."""
    environment: dict[str, str] = {}
    for event in RunDir(path).read_events():
        if isinstance(event.get("environment"), dict):
            environment = event["environment"]
    return environment


def _read(path: Path) -> RunInfo:
    if not RunDir.is_run(path):
        raise TrainerError(f"{path} is not a run directory (it has no status.json)")
    return read_run(path)


def _final(run: RunInfo, name: str) -> float | None:
    values = [v for v in run.history.get(name, []) if v is not None]
    return values[-1] if values else None


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _run_json(run: RunInfo) -> dict[str, Any]:
    return {"name": run.name, "path": str(run.path), "state": run.state, "epochs": run.epochs,
            "wall_seconds": run.wall_seconds}
