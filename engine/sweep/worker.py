"""A sweep worker: claim a trial, run it, repeat until the study needs no more from this
worker. Any number of workers may run at once; each can be killed at any moment and started
again (from cron): an interrupted trial resumes from its checkpoint.

A stop signal (engine/signals.py records it from the process's start) during a trial: fit
checkpoints and the worker stops (TrainingInterrupted, exit 75); between trials: the worker
stops before the next one. `max_seconds` (--max-time) counts for the whole worker, and fit
stops the trial in progress in time."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from .. import signals
from ..errors import TrainingInterrupted
from ..fit_session import FitOptions
from .claims import claim_trial, progress
from .spec import Sweep
from .study import open_study
from .trial import TrialOutcome, run_trial


@dataclass
class WorkerResult:
    outcomes: list[TrialOutcome]
    finished: int      # trials of the study that are finished (by any worker)
    running: int       # trials other live workers are running


def run_worker(sweep: Sweep, options: FitOptions,
               say: Callable[[str], None] = print) -> WorkerResult:
    """Raises TrainingInterrupted (exit 75) when stopped by a signal or --max-time while the
    study still needs trials."""
    study = open_study(sweep)
    outcomes: list[TrialOutcome] = []
    while True:
        if (name := signals.pending()) is not None:
            raise TrainingInterrupted(f"{name} between trials")
        if outcomes and _out_of_time(options):  # as fit: some progress every invocation
            raise TrainingInterrupted("--max-time reached before the next trial")
        claim = claim_trial(study, sweep)
        if claim is None:
            break
        params = ", ".join(f"{k}={_short(v)}" for k, v in claim.trial.params.items())
        say(f"trial {claim.trial.number}{' (resumed)' if claim.adopted else ''}"
            + (f": {params}" if params else ""))
        outcome = run_trial(sweep, study, claim.trial, _trial_options(options))
        outcomes.append(outcome)
        say(_describe(outcome, sweep))
    now = progress(study.get_trials(deepcopy=False))
    return WorkerResult(outcomes, now.finished, now.running)


def _trial_options(options: FitOptions) -> FitOptions:
    """A trial's fit counts its set-up from now, and gets what is left of the worker's time."""
    now = time.monotonic()
    left = None if options.max_seconds is None else options.max_seconds - (now - options.started)
    return replace(options, started=now, max_seconds=left)


def _out_of_time(options: FitOptions) -> bool:
    return options.max_seconds is not None and \
        time.monotonic() - options.started >= options.max_seconds


def _describe(outcome: TrialOutcome, sweep: Sweep) -> str:
    head = f"trial {outcome.number} {outcome.state} after {outcome.epochs} epochs"
    if outcome.state == "failed":
        return f"{head}: {outcome.error}"
    value = f"{sweep.metric}={outcome.value:.6g}" if outcome.value is not None else ""
    return f"{head}: {value} ({outcome.run_dir})"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
