"""What a sweep has found: one row per trial (number, state, params, value, epochs, training
time, run dir), the best trial, its config written out as a plain experiment file (best.yaml),
and Optuna's optimisation-history and parameter-importance plots (PNG) in the sweep dir."""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..plots import matplotlib_available
from ..state.atomic import atomic_write_text
from ..state.rundir import RunDir
from .spec import Sweep
from .study import open_study
from .trial import ERROR, RUN_DIR, trial_dir

BEST_CONFIG, HISTORY_PNG, IMPORTANCE_PNG = "best.yaml", "optimization_history.png", "param_importances.png"


@dataclass
class TrialRow:
    number: int
    state: str                  # Optuna's: complete, pruned, fail, running, waiting
    params: dict[str, Any]
    value: float | None
    epochs: int
    seconds: float              # training time over all its invocations (history.json)
    run_dir: str
    run_state: str | None       # the run dir's status.json state
    error: str | None = None


@dataclass
class SweepReport:
    name: str
    metric: str
    direction: str
    storage: str
    trials_wanted: int | None
    rows: list[TrialRow] = field(default_factory=list)
    best: TrialRow | None = None
    files: list[str] = field(default_factory=list)   # best.yaml and the PNGs written

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def sweep_report(sweep: Sweep, write_files: bool = True) -> SweepReport:
    study = open_study(sweep, create=False)
    trials = study.get_trials(deepcopy=False)
    rows = [_row(sweep, t) for t in trials]
    report = SweepReport(sweep.study_name, sweep.metric, sweep.direction, sweep.storage,
                         sweep.trials, rows)
    complete = [r for r in rows if r.state == "complete" and r.value is not None]
    if complete:
        pick = max if sweep.direction == "maximize" else min
        report.best = pick(complete, key=lambda r: r.value)
    if write_files:
        report.files = _write_files(sweep, study, report)
    return report


def _row(sweep: Sweep, trial: Any) -> TrialRow:
    run_dir = RunDir(Path(trial.user_attrs.get(RUN_DIR) or trial_dir(sweep, trial.number)))
    history, epochs = run_dir.read_history()
    seconds = sum(s for s in history.get("seconds", []) if s is not None)
    return TrialRow(trial.number, trial.state.name.lower(), dict(trial.params), trial.value,
                    len(epochs), round(seconds, 2), str(run_dir.path),
                    run_dir.read_status().get("state"), trial.user_attrs.get(ERROR))


def _write_files(sweep: Sweep, study: Any, report: SweepReport) -> list[str]:
    written = []
    if report.best is not None:
        source = RunDir(Path(report.best.run_dir)).config
        if source.is_file():
            path = sweep.directory / BEST_CONFIG
            params = ", ".join(f"{k}={v}" for k, v in report.best.params.items())
            atomic_write_text(path, f"# Best trial {report.best.number} of sweep {sweep.study_name} "
                              f"({sweep.metric}={report.best.value:.6g}): {params}\n"
                              f"# Its resolved config; train it with: trainer fit {path}\n"
                              + source.read_text())
            written.append(str(path))
    if matplotlib_available() and report.best is not None:
        written += _plots(sweep, study)
    return written


def _plots(sweep: Sweep, study: Any) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots
    written = []
    drawers = [(HISTORY_PNG, optuna_plots.plot_optimization_history),
               (IMPORTANCE_PNG, optuna_plots.plot_param_importances)]
    for name, draw in drawers:
        with warnings.catch_warnings():  # Optuna marks its matplotlib plots experimental
            warnings.simplefilter("ignore")
            try:
                axes = draw(study, target_name=sweep.metric)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # e.g. importance needs two complete trials with different values
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(8, 4.5)
        figure.tight_layout()
        path = sweep.directory / name
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(str(path))
    return written
