"""One trial: the base experiment with the trial's values, trained by `fit` in its own run
directory (sweeps/NAME/trials/NNN), reporting the metric to Optuna after every epoch so the
pruner can stop it; then its value (the best epoch's) or its pruned / failed state told.

A pruned trial is an ordinary run that early-stopped: status.json says early_stopped, train.log
says why; Optuna records it as PRUNED (and the trial's user attribute `pruned_at_epoch`, which
tells a worker that adopts the trial after a kill that the early stop was the pruner's)."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..callbacks import Callback
from ..errors import ConfigError, DataError, TrainingDiverged
from ..fit_session import FitOptions, fit
from ..state.run_state import RunState
from ..state.rundir import RunDir
from .spec import Sweep
from .study import optuna_module

RUN_DIR, ERROR, PRUNED_AT = "run_dir", "error", "pruned_at_epoch"


@dataclass
class TrialOutcome:
    number: int
    state: str                 # complete | pruned | failed
    value: float | None
    run_dir: Path
    epochs: int
    error: str | None = None


def trial_dir(sweep: Sweep, number: int) -> Path:
    return sweep.directory / "trials" / f"{number:03d}"


class ReportToOptuna(Callback):
    """After each epoch that logged the metric: report it; if the pruner says so (and epochs
    remain), stop training the way EarlyStopping does."""

    uses_batch_hooks = False

    def __init__(self, trial: Any, metric: str):
        self.trial = trial
        self.metric = metric

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.metric)
        if value is None:
            return
        with warnings.catch_warnings():  # an epoch re-run after a kill reports its value again
            warnings.simplefilter("ignore")
            self.trial.report(float(value), epoch)
        if epoch + 1 < self.loop.epochs and self.trial.should_prune():
            self.trial.set_user_attr(PRUNED_AT, epoch)
            self.loop.request_stop()
            self.loop.note(f"Epoch {epoch + 1}: pruned by the sweep ({self.metric}={value:.6g})")


def run_trial(sweep: Sweep, study: Any, trial: Any, options: FitOptions) -> TrialOutcome:
    """Train (or resume, or find finished) the trial's run and tell Optuna how it ended."""
    optuna = optuna_module()
    run_dir = trial_dir(sweep, trial.number)
    trial.set_user_attr(RUN_DIR, str(run_dir))
    try:
        experiment = sweep.experiment({p.path: p.suggest(trial) for p in sweep.params})
        fit(experiment, replace(options, run_dir=run_dir,
                                callbacks=[ReportToOptuna(trial, sweep.metric)]))
    except (TrainingDiverged, ConfigError, DataError) as exc:
        return _failed(study, trial, run_dir, str(exc))
    value, epochs = best_value(run_dir, sweep)
    if _was_pruned(trial, run_dir):
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return TrialOutcome(trial.number, "pruned", value, run_dir, epochs)
    if value is None:
        return _failed(study, trial, run_dir, f"the sweep's metric '{sweep.metric}' was never "
                       f"logged (see {run_dir / 'history.csv'})")
    study.tell(trial, value)
    return TrialOutcome(trial.number, "complete", value, run_dir, epochs)


def best_value(run_dir: Path, sweep: Sweep) -> tuple[float | None, int]:
    """The metric's best epoch value in the run's history (None if never logged), and the
    number of epochs trained."""
    history, epochs = RunDir(run_dir).read_history()
    values = [v for v in history.get(sweep.metric, []) if v is not None and math.isfinite(v)]
    pick = max if sweep.direction == "maximize" else min
    return (pick(values) if values else None), len(epochs)


def _was_pruned(trial: Any, run_dir: Path) -> bool:
    """The pruner stopped it (and a resume after a kill did not train on past that epoch)."""
    pruned_at = trial.user_attrs.get(PRUNED_AT)
    state = RunState.parse(RunDir(run_dir).read_status().get("state"))
    return pruned_at is not None and state is RunState.EARLY_STOPPED


def _failed(study: Any, trial: Any, run_dir: Path, error: str) -> TrialOutcome:
    trial.set_user_attr(ERROR, error)
    study.tell(trial, state=optuna_module().trial.TrialState.FAIL)
    return TrialOutcome(trial.number, "failed", None, run_dir,
                        len(RunDir(run_dir).read_history()[1]), error)
