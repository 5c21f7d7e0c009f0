"""Which trial a worker runs next: first a trial whose worker on this machine died or stopped
(killed mid-trial, SIGTERM, --max-time), which then resumes from its checkpoint under
the same Optuna trial; else a new trial, while the study still needs one.

A trial records its worker (host, pid) as Optuna user attributes. Workers that share the
sweep directory take trials under one file lock, so two of them never take the same trial;
workers on other machines never adopt each other's trials (their checkpoints are elsewhere)."""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from .spec import Sweep
from .study import optuna_module, sampler, sweep_lock

HOST, PID = "host", "pid"


@dataclass
class Claim:
    trial: Any        # optuna.trial.Trial, RUNNING, owned by this process
    adopted: bool     # an interrupted trial taken over (it resumes) rather than a new one


@dataclass
class Progress:
    finished: int     # complete, pruned or failed
    running: int      # owned by live workers (after this worker's adoptions)


def claim_trial(study: Any, sweep: Sweep) -> Claim | None:
    """A trial for this worker, or None when the study needs none from it."""
    optuna = optuna_module()
    with sweep_lock(sweep):
        trials = study.get_trials(deepcopy=False)
        for frozen in trials:
            if frozen.state == optuna.trial.TrialState.RUNNING and _abandoned(frozen, sweep):
                return Claim(_own(optuna.trial.Trial(study, frozen._trial_id)), adopted=True)
        if not needs_trials(sweep, trials):
            return None
        study.sampler = sampler(sweep, len(trials))
        return Claim(_own(study.ask()), adopted=False)


def progress(trials: list[Any]) -> Progress:
    optuna = optuna_module()
    states = [t.state for t in trials]
    finished = sum(s.is_finished() for s in states)
    return Progress(finished, states.count(optuna.trial.TrialState.RUNNING))


def needs_trials(sweep: Sweep, trials: list[Any]) -> bool:
    """Whether a new trial may start: fewer than `trials` finished or running, and the
    study's timeout (counted from its first trial) not reached."""
    now = progress(trials)
    if sweep.trials is not None and now.finished + now.running >= sweep.trials:
        return False
    if sweep.spec.timeout is not None and trials:
        first = min(t.datetime_start for t in trials if t.datetime_start is not None)
        if time.time() - first.timestamp() >= sweep.spec.timeout:
            return False
    return True


def _abandoned(frozen: Any, sweep: Sweep) -> bool:
    owner_host, owner_pid = frozen.user_attrs.get(HOST), frozen.user_attrs.get(PID)
    if owner_host is None:
        # Killed between ask and recording its owner: with SQLite every worker is local and
        # takes trials under the lock, so nobody else is about to record it.
        return sweep.storage.startswith("sqlite:")
    if owner_host != socket.gethostname():
        return False
    if owner_pid == os.getpid():  # this worker claims only between its trials
        return True
    try:
        os.kill(int(owner_pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, TypeError):
        return False
    return False


def _own(trial: Any) -> Any:
    trial.set_user_attr(HOST, socket.gethostname())
    trial.set_user_attr(PID, os.getpid())
    return trial
