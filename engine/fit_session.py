"""One `trainer fit`: choose the run directory, decide between start / resume / already
finished / refuse, build everything (errors surface before anything is written), then train
and finish. The run's files are written by its RunRecord; when to stop is the StopPolicy's."""
from __future__ import annotations

import contextlib
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

from . import signals
from .callbacks import build_callbacks
from .callbacks.csv_logger import CSVLogger
from .callbacks.json_events import JsonEvents
from .callbacks.mlflow_logger import mlflow_logger
from .callbacks.progress import EpochLines, ProgressBar
from .components import build_components, config_dirs
from .config import LoadedExperiment, config_diff, resolve_experiment
from .environment import run_environment
from .errors import ConfigError, RunDirError, TrainingDiverged, TrainingInterrupted
from .loop.acceleration import accelerate, use_deterministic
from .loop.device import resolve_device
from .loop.distributed import (DistContext, from_main, init_distributed, shutdown_distributed,
                               wrap_models)
from .loop.fit import FitLoop
from .loop.stop_policy import StopPolicy
from .plots import record_curves
from .preflight import validate_experiment
from .search_path import config_search_dirs
from .state.checkpoint import is_weights_only, load_checkpoint
from .state.lock import RunLock
from .state.resume import explicit_checkpoint, newest_good_checkpoint, resume
from .state.rng import seed_everything
from .state.run_record import RunRecord, WorkerRecord
from .state.run_state import RunState
from .state.rundir import RunDir, choose_run_dir

# Keys that may change between invocations of the same run without changing what it computes.
RUNTIME_KEYS = ("device", "loggers")
# What a weights-only checkpoint given to --resume must share with the config.
MODEL_KEYS = ("model", "models")


@dataclass
class FitOptions:
    run_dir: Path | None = None
    resume: str = "auto"            # auto | never | path to a checkpoint
    device: str | None = None
    max_seconds: float | None = None
    progress: str = "lines"         # bar | lines | quiet
    events: Any = None              # a JsonLog: JSON events instead of progress (--log-format)
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    started: float = field(default_factory=time.monotonic)  # --max-time counts from here
    callbacks: list = field(default_factory=list)  # after the run's own (trainer sweep's pruning)

    def warn(self, message: str) -> None:
        sys.stderr.write(f"warning: {message}\n")


@dataclass
class FitResult:
    state: RunState
    run_dir: Path
    epochs: int
    logs: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] | None = None
    already_finished: bool = False


def fit(experiment: LoadedExperiment, options: FitOptions) -> FitResult:
    """Everything that can be wrong with the config, data or run dir is found before the run
    dir is touched; the decision to resume is taken again under the lock. Under torchrun every
    rank runs this; rank 0 alone writes."""
    stop_if_signalled()
    dist, device = init_distributed(resolve_device(options.device or experiment.config.device))
    try:
        path, resume = choose_run_dir(experiment.config.name, options.run_dir, options.resume)
        run_dir = RunDir(from_main(path, dist))
        if dist.is_main:
            RunLock(run_dir.lock_file).refuse_if_held()  # exit 4 before data and model are built
        checkpoint_path = None
        if run_dir.exists():
            _refuse_changed_config(run_dir.read_config(), experiment, str(run_dir.config))
        if resume not in ("auto", "never"):
            checkpoint_path = Path(resume)
            state = load_checkpoint(checkpoint_path)
            # Weights alone (import-keras, save_weights_only) start a new run: only the model
            # must be the same.
            _refuse_changed_config(state["config"], experiment, resume,
                                   MODEL_KEYS if is_weights_only(state) else None)
        elif (done := _already_finished(run_dir)) is not None:
            return done
        return _fit_on_device(experiment, options, run_dir, checkpoint_path, dist, device)
    finally:
        shutdown_distributed(dist)


def _fit_on_device(experiment: LoadedExperiment, options: FitOptions, run_dir: RunDir,
                   checkpoint_path: Path | None, dist: DistContext, device: torch.device
                   ) -> FitResult:
    cfg = experiment.config
    seed_everything(cfg.seed)
    use_deterministic(cfg.deterministic)
    components = build_components(experiment, device)
    stop_if_signalled()
    accelerate(components.models, cfg, components.device)
    wrap_models(components.models, dist, components.device)
    with config_search_dirs(*config_dirs(experiment)):
        user_callbacks = build_callbacks(cfg.fit.callbacks)
    # A CSVLogger without a filename sets the format of the run's own history.csv.
    separator = next((c.separator for c in user_callbacks
                      if isinstance(c, CSVLogger) and c.filename is None), ",")
    environment = run_environment(components.device, cfg.precision)
    record = (RunRecord(run_dir, separator, environment, console=options.warn) if dist.is_main
              else WorkerRecord(run_dir, separator, environment))
    progress = _progress(options, experiment) if dist.is_main else []
    # Trackers last (rank 0 only): they report what the other callbacks decided.
    trackers = [mlflow_logger(cfg.loggers, experiment, environment)] if dist.is_main else []
    stop = StopPolicy(options.max_seconds, options.started, dist, components.device)
    loop = FitLoop(components, [*user_callbacks, *progress, *options.callbacks,
                                *filter(None, trackers)], record, stop, dist)
    stop_if_signalled()

    record.create()
    with (RunLock(run_dir.lock_file) if dist.is_main else contextlib.nullcontext(NO_LOCK)) as lock:
        if checkpoint_path is None and options.resume == "auto":
            # Another process may have finished or advanced the run while we were building.
            if (done := _already_finished(run_dir)) is not None:
                return done
            point = newest_good_checkpoint(run_dir, loop.checkpoints, dist.is_main)
        else:
            point = explicit_checkpoint(checkpoint_path)
        if dist.is_main:
            run_dir.remove_stale_temporaries()
        record.open_log()
        if lock.took_over_from:
            message = (f"took over the stale lock of process {lock.took_over_from}, "
                       f"which is no longer running")
            record.log.warning(message)
            options.warn(message)
        for note in components.data.notes:  # e.g. image files skipped while loading
            record.log.warning(note)
            options.warn(note)
        try:
            if point is not None:
                resume(loop, point)
            return _train(experiment, loop, record, stop)
        finally:
            record.close_log()


class _NoLock:
    took_over_from = None


NO_LOCK = _NoLock()  # ranks other than 0 under torchrun: rank 0 holds the run's lock


def stop_if_signalled() -> None:
    """Before training: a stop signal received so far ends the command here (exit 75)."""
    if (name := signals.pending()) is not None:
        raise TrainingInterrupted(f"{name} before training started: nothing written")


def _already_finished(run_dir: RunDir) -> FitResult | None:
    status = run_dir.read_status()
    state = RunState.parse(status.get("state"))
    if state is None or not state.finished:
        return None
    return FitResult(state, run_dir.path, status.get("epoch", 0), already_finished=True)


def _train(experiment: LoadedExperiment, loop: FitLoop, record: RunRecord, stop: StopPolicy
           ) -> FitResult:
    if not record.dir.exists():
        record.write_config(experiment.resolved)
    with stop.handle_signals():
        try:
            record.write_status(RunState.RUNNING, **loop.position())
            if loop.progress.outcome is None:  # else finished before, killed while finishing
                loop.run()
                loop.save_checkpoint(record.dir.last_checkpoint)
            return _finish(loop, record, RunState(loop.progress.outcome))
        except TrainingInterrupted as exc:
            _end(loop, record, RunState.INTERRUPTED, str(exc))
            raise
        except TrainingDiverged as exc:
            _end(loop, record, RunState.DIVERGED, str(exc))
            raise
        except KeyboardInterrupt:
            _end(loop, record, RunState.INTERRUPTED, "second interrupt: stopped at once")
            raise TrainingInterrupted("stopped at once; the last good checkpoint is kept") from None
        except RunDirError as exc:  # unwritable run dir, full disk: the last checkpoint is intact
            _end(loop, record, RunState.FAILED, str(exc))
            raise
        except Exception:
            record.log.error("training failed:\n" + traceback.format_exc())
            error = traceback.format_exc(limit=1).strip().splitlines()[-1]
            _end(loop, record, RunState.FAILED, error)
            raise


def _end(loop: FitLoop, record: RunRecord, state: RunState, reason: str) -> None:
    record.ended(state, reason, loop.position())
    _draw_curves(record)
    loop.callbacks.on_run_end(state.value)


def _finish(loop: FitLoop, record: RunRecord, outcome: RunState) -> FitResult:
    """Idempotent: a run killed while finishing finishes on the next invocation."""
    progress, data = loop.progress, loop.components.data
    record.write_history(progress.history, progress.epochs_done, loop.history_params())
    record.write_weights(loop.recipe.models)
    test_metrics = None
    if data.test is not None and loop.recipe.implements("test_step"):
        _stop_before_finishing(loop)
        test_metrics = loop.evaluate(loop.batches(data.test, loop.cfg.batch_size_for("evaluate")))
        _stop_before_finishing(loop)
        record.write_metrics(test_metrics)
    record.finished(outcome, loop.position(), len(progress.epochs_done), test_metrics)
    _draw_curves(record)
    loop.callbacks.on_run_end(outcome.value)
    return FitResult(outcome, record.dir.path, len(progress.epochs_done), progress.last_logs(),
                     test_metrics)


def _draw_curves(record: RunRecord) -> None:
    if record.writes and (problem := record_curves(record.dir)) is not None:
        record.console_warning(problem)


def _stop_before_finishing(loop: FitLoop) -> None:
    """A stop signal after training: the run is trained and checkpointed; the final evaluation
    runs when the same command is run again."""
    if (name := signals.pending()) is not None:
        raise TrainingInterrupted(
            f"{name} after training: checkpoint written at the end of epoch "
            f"{loop.progress.epoch}; the final evaluation runs on the next invocation")


def _progress(options: FitOptions, experiment: LoadedExperiment) -> list:
    if options.events is not None:
        return [JsonEvents(options.events, experiment.hash)]
    stream = options.stream or sys.stdout
    if options.progress == "bar":
        return [ProgressBar(stream)]
    if options.progress == "lines":
        return [EpochLines(stream)]
    return []


def _refuse_changed_config(old: dict | None, experiment: LoadedExperiment, where: str,
                           only: tuple[str, ...] | None = None) -> None:
    """Refuse to continue a run whose config changed. The stored config is re-resolved through
    today's schema first, so a key added (with its default) by a newer trainer is no change; and
    a config that is itself wrong is reported as such, not as a change. `only`: compare just
    these keys (the model of a weights-only checkpoint)."""
    if old is None:
        return
    try:
        old = resolve_experiment(old, {}).resolved
    except ConfigError:
        pass  # the schema no longer accepts it: compare as stored
    strip = lambda d: {k: v for k, v in d.items()  # noqa: E731
                       if k not in RUNTIME_KEYS and (only is None or k in only)}
    diff = config_diff(strip(old), strip(experiment.resolved))
    if diff and only is not None:
        raise RunDirError(f"the model differs from the one these weights belong to ({where}):"
                          f"\n  " + "\n  ".join(diff))
    if diff:
        validate_experiment(experiment)
        raise RunDirError(
            f"the config differs from the one this run started with ({where}):\n  "
            + "\n  ".join(diff)
            + "\nrun with --resume never to start a new run directory, or restore the config")
