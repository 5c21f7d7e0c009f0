"""One `trainer fit`: choose the run directory, decide between start / resume / already
finished / refuse, build everything (errors surface before anything is written), then train,
record and finish. Also `evaluate` and `predict` of a checkpoint."""
from __future__ import annotations

import contextlib
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np
import torch

from .callbacks import build_callbacks
from .callbacks.csv_logger import CSVLogger
from .callbacks.json_log import JsonEvents
from .callbacks.mlflow_logger import mlflow_logger
from .callbacks.progress import EpochLines, ProgressBar
from .callbacks.recorder import RunRecorder, best_monitored
from .components import build_components, config_dirs
from .config import LoadedExperiment, config_diff, resolve_experiment
from .data import ArraySplit, make_batches
from .data.splits import transform_inputs
from .errors import CheckpointError, ConfigError, RunDirError, TrainingDiverged, TrainingInterrupted
from .loop.acceleration import accelerate
from .loop.device import resolve_device
from .loop.distributed import (DistContext, from_main, init_distributed, shutdown_distributed,
                               wrap_models)
from .registry import component_search_dirs
from .loop.evaluate import evaluate_batches, predict_batches
from .loop.fit import FitLoop
from .plots import record_curves
from .state.atomic import atomic_write_json
from .preflight import validate_experiment
from .state.checkpoint import load_checkpoint
from .state.lock import RunLock
from .state.rng import seed_everything
from .state.rundir import FINISHED_STATES, RunDir, WorkerRunDir, next_free_run_dir
from .state.weights import save_weights_h5

# Keys that may change between invocations of the same run without changing what it computes.
RUNTIME_KEYS = ("device", "loggers")


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

    def warn(self, message: str) -> None:
        sys.stderr.write(f"warning: {message}\n")


@dataclass
class FitResult:
    state: str
    run_dir: Path
    epochs: int
    logs: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] | None = None
    already_finished: bool = False


def fit(experiment: LoadedExperiment, options: FitOptions) -> FitResult:
    """Everything that can be wrong with the config, data or run dir is found before the run
    dir is touched; the decision to resume is taken again under the lock. Under torchrun every
    rank runs this; rank 0 alone writes."""
    cfg = experiment.config
    dist, device = init_distributed(resolve_device(options.device or cfg.device))
    try:
        run_dir = RunDir(options.run_dir or Path("runs") / cfg.name)
        if options.resume == "never" and run_dir.path.exists():
            run_dir = RunDir(from_main(next_free_run_dir(run_dir.path), dist))
        checkpoint_path = None
        if run_dir.exists():
            _refuse_changed_config(run_dir.read_config(), experiment, str(run_dir.config))
        if options.resume not in ("auto", "never"):
            checkpoint_path = Path(options.resume)
            _refuse_changed_config(load_checkpoint(checkpoint_path)["config"], experiment,
                                   options.resume)
        elif (done := _already_finished(run_dir)) is not None:
            return done
        return _fit_on_device(experiment, options, run_dir, checkpoint_path, dist, device)
    finally:
        shutdown_distributed(dist)


def _fit_on_device(experiment: LoadedExperiment, options: FitOptions, run_dir: RunDir,
                   checkpoint_path: Path | None, dist: DistContext, device: torch.device
                   ) -> FitResult:
    cfg = experiment.config
    if not dist.is_main:
        run_dir = WorkerRunDir(run_dir.path)
    seed_everything(cfg.seed)
    torch.use_deterministic_algorithms(cfg.deterministic, warn_only=False)
    components = build_components(experiment, device)
    accelerate(components.models, cfg, components.device)
    wrap_models(components.models, dist, components.device)
    with component_search_dirs(*config_dirs(experiment)):
        user_callbacks = build_callbacks(cfg.fit.callbacks)
    separator = next((c.separator for c in user_callbacks
                      if isinstance(c, CSVLogger) and c.filename is None), ",")
    progress = _progress(options) if dist.is_main else []
    trackers = [t for t in [mlflow_logger(cfg.loggers)] if t is not None] if dist.is_main else []
    callbacks = [*user_callbacks, *progress, RunRecorder(separator), *trackers]
    loop = FitLoop(components, callbacks, run_dir, options.max_seconds, started=options.started,
                   dist=dist)

    run_dir.create()
    with (RunLock(run_dir.path) if dist.is_main else contextlib.nullcontext(NO_LOCK)) as lock:
        if checkpoint_path is None and options.resume == "auto":
            # Another process may have finished or advanced the run while we were building.
            if (done := _already_finished(run_dir)) is not None:
                return done
            if run_dir.last_checkpoint.is_file():
                checkpoint_path = run_dir.last_checkpoint
        run_dir.remove_stale_temporaries()
        log = run_dir.logger()
        loop.log = log
        if lock.took_over_from:
            message = (f"took over the stale lock of process {lock.took_over_from}, "
                       f"which is no longer running")
            log.warning(message)
            options.warn(message)
        try:
            if checkpoint_path is not None:
                loop.load_state_dict(load_checkpoint(checkpoint_path))
            return _train(experiment, loop, run_dir, log)
        finally:
            run_dir.close_logger()


class _NoLock:
    took_over_from = None


NO_LOCK = _NoLock()  # ranks other than 0 under torchrun: rank 0 holds the run's lock


def _already_finished(run_dir: RunDir) -> FitResult | None:
    status = run_dir.read_status()
    if status.get("state") not in FINISHED_STATES:
        return None
    return FitResult(status["state"], run_dir.path, status.get("epoch", 0), already_finished=True)


def _train(experiment, loop: FitLoop, run_dir: RunDir, log) -> FitResult:
    if not run_dir.exists():
        run_dir.write_config(experiment.resolved)
    with _signals_interrupt(loop):
        try:
            run_dir.write_status("running", **_position(loop))
            if loop.outcome is None:  # else finished before, killed while finishing
                loop.run()
                loop.save_checkpoint(run_dir.last_checkpoint)
            return _finish(loop, run_dir, loop.outcome)
        except TrainingInterrupted as exc:
            _record_end(run_dir, loop, "interrupted", str(exc), log.info)
            raise
        except TrainingDiverged as exc:
            _record_end(run_dir, loop, "diverged", str(exc), log.error)
            raise
        except KeyboardInterrupt:
            _record_end(run_dir, loop, "interrupted", "second interrupt: stopped at once", log.info)
            raise TrainingInterrupted("stopped at once; the last good checkpoint is kept") from None
        except RunDirError as exc:  # unwritable run dir, full disk: the last checkpoint is intact
            _record_end(run_dir, loop, "failed", str(exc), log.error)
            raise
        except Exception:
            log.error("training failed:\n" + traceback.format_exc())
            error = traceback.format_exc(limit=1).strip().splitlines()[-1]
            _record_end(run_dir, loop, "failed", error, log.error)
            raise


def _position(loop: FitLoop) -> dict[str, Any]:
    return {"epoch": loop.epoch, "step": loop.global_step, **best_monitored(loop)}


def _record_end(run_dir: RunDir, loop: FitLoop, state: str, reason: str, log: Callable) -> None:
    """Best effort: on a full disk the error being reported matters more than the status."""
    log(f"{state}: {reason}")
    try:
        run_dir.write_status(state, **_position(loop))
        run_dir.event(state, reason=reason)
    except RunDirError:
        pass
    if loop.is_main:
        record_curves(run_dir.path, loop.log)
    loop.callbacks.on_run_end(state)


def _finish(loop: FitLoop, run_dir: RunDir, outcome: str) -> FitResult:
    """Idempotent: a run killed while finishing finishes on the next invocation."""
    components = loop.components
    next(c for c in loop.callbacks.callbacks if isinstance(c, RunRecorder)).write_history()
    if loop.is_main:
        save_weights_h5(run_dir.weights, loop.recipe.models)
    test_metrics = None
    if components.data.test is not None and loop.recipe.implements("test_step"):
        batches = loop.batches(components.data.test,
                               loop.cfg.evaluate.batch_size or loop.cfg.fit.batch_size)
        test_metrics = loop.evaluate(batches)
        if loop.is_main:
            atomic_write_json(run_dir.metrics, test_metrics)
    run_dir.write_status(outcome, **_position(loop))
    run_dir.event(outcome, epochs=len(loop.epochs_done), test=test_metrics)
    if loop.is_main:
        record_curves(run_dir.path, loop.log)
    loop.callbacks.on_run_end(outcome)
    # The last epoch's logs: no val_ keys when it did not validate (validation_freq).
    last = {k: v[-1] for k, v in loop.history.items() if v and v[-1] is not None}
    return FitResult(outcome, run_dir.path, len(loop.epochs_done), last, test_metrics)


def _progress(options: FitOptions) -> list:
    if options.events is not None:
        return [JsonEvents(options.events)]
    stream = options.stream or sys.stdout
    if options.progress == "bar":
        return [ProgressBar(stream)]
    if options.progress == "lines":
        return [EpochLines(stream)]
    return []


def _refuse_changed_config(old: dict | None, experiment: LoadedExperiment, where: str) -> None:
    """Refuse to continue a run whose config changed. The stored config is re-resolved through
    today's schema first, so a key added (with its default) by a newer trainer is no change; and
    a config that is itself wrong is reported as such, not as a change."""
    if old is None:
        return
    try:
        old = resolve_experiment(old, {}).resolved
    except ConfigError:
        pass  # the schema no longer accepts it: compare as stored
    strip = lambda d: {k: v for k, v in d.items() if k not in RUNTIME_KEYS}  # noqa: E731
    diff = config_diff(strip(old), strip(experiment.resolved))
    if diff:
        validate_experiment(experiment)
        raise RunDirError(
            f"the config differs from the one this run started with ({where}):\n  "
            + "\n  ".join(diff)
            + "\nrun with --resume never to start a new run directory, or restore the config")


class _signals_interrupt:
    """SIGTERM/SIGINT: finish the current step, checkpoint, exit 75. A second one stops at once."""

    def __init__(self, loop: FitLoop):
        self.loop = loop
        self.previous: dict[int, Any] = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.loop.interrupt_reason:
            raise KeyboardInterrupt
        self.loop.request_interrupt(signal.Signals(signum).name)

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


# --- evaluate / predict a checkpoint ------------------------------------------------------

def experiment_from_checkpoint(state: dict[str, Any], config: LoadedExperiment | None = None
                               ) -> LoadedExperiment:
    """The checkpoint's own config (or `config`); its components are looked up next to the
    config file the run started from."""
    source = state.get("config_source")
    return config or resolve_experiment(state["config"], {}, source=Path(source) if source else None)


def load_for_inference(checkpoint_path: Path, config: LoadedExperiment | None, device: str | None,
                       splits: tuple[str, ...]) -> tuple[Any, LoadedExperiment]:
    state = load_checkpoint(checkpoint_path)
    experiment = experiment_from_checkpoint(state, config)
    components = build_components(experiment, resolve_device(device or experiment.config.device),
                                  splits, state.get("data"))
    for name, model in components.models.items():
        try:
            model.load_state_dict(state["models"][name])
        except (KeyError, RuntimeError) as exc:
            raise CheckpointError(f"weights do not fit the model '{name}': "
                                  f"{str(exc).splitlines()[0]}", str(checkpoint_path)) from None
        model.eval()
    return components, experiment


def evaluate_checkpoint(checkpoint_path: Path, config: LoadedExperiment | None, split: str,
                        batch_size: int | None, device: str | None = None) -> dict[str, float]:
    components, experiment = load_for_inference(checkpoint_path, config, device,
                                                ("train", "validation", "test"))
    data = getattr(components.data, split)
    if data is None:
        raise ConfigError(f"the config has no {split} split", f"data.{split}")
    cfg = experiment.config
    # The validation split in the batches fit validated with, so the numbers match its logs.
    default = (cfg.fit.validation_batch_size or cfg.fit.batch_size if split == "validation"
               else cfg.evaluate.batch_size or cfg.fit.batch_size)
    batches = make_batches(data, batch_size or default, components.device)
    return evaluate_batches(components.recipe, batches, precision=cfg.precision)


def predict_arrays(checkpoint_path: Path, x: dict[str, np.ndarray], batch_size: int | None,
                   device: str | None = None) -> Any:
    components, experiment = load_for_inference(checkpoint_path, None, device, ())
    cfg = experiment.config
    split = transform_inputs(ArraySplit(x, None), cfg.data, components.models[components.main_model],
                             components.data.state_dict())
    batches = make_batches(split, batch_size or cfg.predict.batch_size or cfg.evaluate.batch_size
                           or cfg.fit.batch_size, components.device)
    return predict_batches(components.recipe, batches, cfg.precision)
