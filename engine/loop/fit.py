"""The fit loop: epochs of recipe train steps, validation, callbacks, and the full training
state it can checkpoint and restore mid-epoch. Where training stands is a TrainingProgress;
when to stop resumably is the StopPolicy's decision; the run's files are the RunRecord's.

Per step the loop does no host/device synchronisation: logs are lazily-read tensors, the step
counter is a Python int, and the interrupt check reads a host flag. `--max-time` is decided
at epoch ends from the measured epoch time."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..callbacks import Callback, CallbackList
from ..callbacks.base import MonitorCallback
from ..data import DeviceBatches, epoch_plan, make_batches
from ..errors import ConfigError, TrainingDiverged, TrainingInterrupted
from ..graph.layers.augmentation import bind_augmentation
from ..state.checkpoint import is_weights_only, load_model_weights
from ..state.rng import capture_rng, restore_rng
from ..state.run_record import RunRecord
from ..state.store import CheckpointStore
from .distributed import (SINGLE, DistContext, ShardedBatches, global_metric_state,
                          reduce_metric_states)
from .evaluate import evaluate_batches
from .precision import autocast
from .progress import TrainingProgress
from .step_compile import local_batch_size, train_step_function
from .step_logs import check_finite_losses, check_step_logs, read_step_logs
from .stop_policy import StopPolicy


class FitLoop:
    """Satisfies TrainingContext (engine/callbacks/context.py), the face callbacks see."""

    def __init__(self, components: Any, callbacks: list[Callback], record: RunRecord,
                 stop: StopPolicy, dist: DistContext = SINGLE):
        self.components = components
        self.experiment = components.experiment
        self.cfg = self.experiment.config
        self.recipe = components.recipe
        self.device = components.device
        self.record = record
        self.run_dir = record.dir
        self.checkpoints = CheckpointStore(self.run_dir.checkpoints, self.cfg.fit.keep_checkpoints)
        self.main_model = components.main_model
        self.stop = stop
        self.dist = dist
        fit = self.cfg.fit
        self.train_batches = self.batches(components.data.train, fit.batch_size, fit.shuffle)
        self.val_batches = None
        if components.data.validation is not None:
            self.val_batches = self.batches(components.data.validation,
                                            self.cfg.batch_size_for("validation"))
        self.epochs = fit.epochs
        self.steps_per_epoch = fit.steps_per_epoch or len(self.train_batches)
        self.steps_per_execution = self.cfg.compile.steps_per_execution
        self.train_step = train_step_function(
            self.recipe, self.cfg.compile,
            local_batch_size(fit.batch_size, dist.world_size, dist.rank) if dist.enabled
            else fit.batch_size)
        self.progress = TrainingProgress()
        # Random augmentation layers draw from (seed, epoch, step): a resume draws the same.
        self.augmentation = bind_augmentation(self.recipe.models.values(), self.cfg.seed)
        self.train_logs: Any = {}  # the latest step's logs in the epoch in progress
        self._divergence: str | None = None
        self._clock = time.monotonic()  # time not yet added to the progress
        self.callbacks = CallbackList([*self.recipe.callbacks(), *callbacks])
        self.callbacks.set_loop(self)  # may raise ConfigError: before anything is written
        self.monitor = next((c for c in self.callbacks.callbacks
                             if isinstance(c, MonitorCallback)), None)

    @property
    def is_main(self) -> bool:
        """Whether this process writes artifacts (rank 0 under torchrun; always alone)."""
        return self.dist.is_main

    def batches(self, split: Any, batch_size: int, shuffle: bool = False) -> Any:
        """Batches of a split; under torchrun, this rank's share of each global batch."""
        batches = make_batches(split, batch_size, self.device, shuffle=shuffle, seed=self.cfg.seed)
        return ShardedBatches(batches, self.dist) if self.dist.enabled else batches

    # --- TrainingContext: what callbacks call ------------------------------------------
    def request_stop(self) -> None:
        self.progress.stop_requested = True

    def diverged(self, message: str) -> None:
        self._divergence = message
        self.progress.stop_requested = True

    def warn(self, message: str) -> None:
        self.record.log.warning(message)

    def note(self, message: str) -> None:
        self.record.log.info(message)

    def config_error(self, message: str, key_path: str) -> ConfigError:
        return self.experiment.config_error(message, key_path)

    def metric_direction(self, name: str) -> str | None:
        base = name.removeprefix("val_")
        if base == "loss" or base.endswith("_loss"):
            return "down"
        metrics = self.recipe.metrics
        for metric in (metrics.all.values() if metrics is not None else ()):
            if metric.name == base:
                return metric.direction
        return None

    def best_monitored(self) -> dict[str, Any]:
        """{"monitor": name, "best": value} for status.json and `trainer runs`: the first
        monitoring callback's quantity and direction, else val_loss (or loss), lower is better."""
        history = self.progress.history
        if self.monitor is not None:
            monitor, better = self.monitor.monitor, self.monitor.monitor_op
        else:
            monitor = "val_loss" if "val_loss" in history else "loss"
            better = lambda a, b: a < b  # noqa: E731
        best = None
        for value in (v for v in history.get(monitor, []) if v is not None):
            if best is None or better(value, best):
                best = value
        return {"monitor": monitor, "best": best}

    def position(self) -> dict[str, Any]:
        """Where the run stands, for status.json."""
        return {"epoch": self.progress.epoch, "step": self.progress.global_step,
                **self.best_monitored()}

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> str:
        """Train to the end; return 'completed' or 'early_stopped'. Raises TrainingInterrupted
        (checkpoint written) or TrainingDiverged."""
        progress = self.progress
        for model in self.recipe.models.values():
            model.train()
        self.record.started("resumed" if progress.resumed else "started", progress.epoch,
                            progress.step, round(self.stop.seconds_since_start(), 3))
        self.callbacks.on_train_begin()
        while progress.epoch < self.epochs and not progress.stop_requested:
            self._run_epoch()
        progress.outcome = ("early_stopped" if progress.stop_requested and
                            progress.epoch < self.epochs else "completed")
        self.callbacks.on_train_end(progress.last_logs())
        return progress.outcome

    def _run_epoch(self) -> None:
        progress = self.progress
        invocation_start = self._clock = time.monotonic()
        epoch, resumed_at = progress.epoch, progress.step
        self.callbacks.on_epoch_begin(epoch)
        if progress.step == 0:
            self.recipe.reset_metrics()
            self.train_logs = {}
        data_pass, pass_offset, steps = epoch_plan(epoch, self.cfg.fit.steps_per_epoch,
                                                   len(self.train_batches))
        batches = self.train_batches.epoch(data_pass, pass_offset + progress.step)
        precision = autocast(self.cfg.precision, self.device)
        batch_begin = self.callbacks.on_train_batch_begin
        batch_end = self.callbacks.on_train_batch_end
        every = self.cfg.fit.checkpoint_every
        train_step, per_execution = self.train_step, self.steps_per_execution
        while progress.step < steps:
            # One execution: up to `steps_per_execution` steps between host-side checks; the
            # batch hooks see its first and last step, as Keras's do.
            batch = next(batches, None)
            if batch is None:
                break
            batch_begin(progress.step)
            size, ran = min(per_execution, steps - progress.step), 0
            while batch is not None:
                if self.augmentation is not None:
                    self.augmentation.at(progress.epoch, progress.step + ran)
                with precision:
                    logs = self.train_logs = train_step(batch)
                ran += 1
                batch = next(batches, None) if ran < size else None
            check_step_logs(logs, self.recipe, "train_step")
            progress.advance_steps(ran)
            batch_end(progress.step - 1, logs)
            if self._divergence:
                raise TrainingDiverged(self._divergence)
            if every and progress.global_step % every < ran:
                self._account_time()
                self.save_checkpoint(self.run_dir.last_checkpoint)
            if self.stop.stop_now(progress.global_step, ran):
                self._interrupt()
        reduce_metric_states(self.recipe.metric_modules(), self.dist)
        # After a resume that landed after the epoch's last step, these are the saved logs.
        epoch_logs = read_step_logs(self.train_logs, self.recipe, "train_step")
        check_finite_losses(epoch_logs, self.recipe, "train_step", f"in epoch {epoch + 1}")
        if self.val_batches is not None and (epoch + 1) % self.cfg.fit.validation_freq == 0:
            val_logs = self.evaluate(self.val_batches, self.cfg.fit.validation_steps)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        epoch_logs["lr"] = self.recipe.optimizers[next(iter(self.recipe.optimizers))].lr
        self._account_time()
        # An epoch's seconds: its wall time over every invocation that worked on it.
        epoch_logs["seconds"] = round(progress.epoch_seconds, 3)
        this_invocation = time.monotonic() - invocation_start
        # From here the epoch counts as done: a checkpoint written by a callback continues
        # with the next epoch.
        progress.record_epoch(epoch_logs)
        self.callbacks.on_epoch_end(epoch, epoch_logs)
        if self._divergence:
            raise TrainingDiverged(self._divergence)
        self.record.epoch_ended(epoch, epoch_logs, self.position(), progress.history,
                                progress.epochs_done, self.history_params())
        self.save_checkpoint(self.run_dir.last_checkpoint)
        # Estimate a full epoch from this invocation's part of it (a resume may start mid-way).
        estimate = this_invocation * self.steps_per_epoch / max(self.steps_per_epoch - resumed_at, 1)
        if progress.epoch < self.epochs and not progress.stop_requested and \
                self.stop.stop_after_epoch(estimate):
            self._interrupt(checkpointed=True)

    def _account_time(self) -> None:
        """Add the time since the last account to the epoch's seconds and the elapsed time
        (before a mid-epoch checkpoint, so the epoch's time so far travels with it)."""
        now = time.monotonic()
        self.progress.add_time(now - self._clock)
        self._clock = now

    def evaluate(self, batches: DeviceBatches, max_steps: int | None = None) -> dict[str, float]:
        for model in self.recipe.models.values():
            model.eval()
        try:
            logs = evaluate_batches(
                self.recipe, batches, self.callbacks, self.cfg.precision, self.device, max_steps,
                before_results=lambda: reduce_metric_states(self.recipe.metric_modules(), self.dist))
        finally:
            for model in self.recipe.models.values():
                model.train()
        return logs

    def history_params(self) -> dict[str, Any]:
        """history.json's `params`, as Keras's History records them."""
        return {"epochs": self.epochs, "steps": self.steps_per_epoch,
                "batch_size": self.cfg.fit.batch_size}

    def _interrupt(self, checkpointed: bool = False) -> None:
        if not checkpointed:
            self._account_time()
            self.save_checkpoint(self.run_dir.last_checkpoint)
        progress = self.progress
        where = f"epoch {progress.epoch + 1}, step {progress.step}" if progress.step else \
            f"the end of epoch {progress.epoch}"
        raise TrainingInterrupted(f"{self.stop.reason}: checkpoint written at {where}")

    # --- training state ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        recipe = self.recipe
        return {
            **self._identity(),
            "models": {n: m.state_dict() for n, m in recipe.models.items()},
            "optimizers": {n: o.state_dict() for n, o in recipe.optimizers.items()},
            "scalers": {n: o.scaler.state_dict() for n, o in recipe.optimizers.items()
                        if o.scaler is not None},
            # Copies: under torchrun the buffers hold the global sums only while saving.
            "metrics": {n: {k: v.clone() for k, v in m.state_dict().items()}
                        for n, m in recipe.metric_modules().items()},
            "recipe": recipe.state_dict(),
            "callbacks": self.callbacks.state_dict(),
            "loop": {**self.progress.state_dict(), "train_logs": self._train_logs_now()},
            "rng": capture_rng(),
            "data": self.components.data.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        recipe = self.recipe
        if is_weights_only(state):  # a new run from these weights, at epoch 0
            load_model_weights(recipe.models, state)
            return
        for name, model in recipe.models.items():
            model.load_state_dict(state["models"][name])
        for name, optimizer in recipe.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
            if optimizer.scaler is not None and name in state.get("scalers", {}):
                optimizer.scaler.load_state_dict(state["scalers"][name])
        for name, module in recipe.metric_modules().items():
            if name in state["metrics"]:
                module.load_state_dict(state["metrics"][name])
        if not self.is_main:  # the saved partial-epoch state is global: keep one copy of it
            recipe.reset_metrics()
        recipe.load_state_dict(state["recipe"])
        self.callbacks.load_state_dict(state["callbacks"])
        self.progress.load_state_dict(state["loop"])
        self.train_logs = dict(state["loop"]["train_logs"])
        restore_rng(state["rng"])

    def _identity(self) -> dict[str, Any]:
        """What every checkpoint says about the run: its resolved config, the config's hash,
        and the config file it came from (where `file.py:Name` components are looked up)."""
        source = self.experiment.source
        return {"config": self.experiment.resolved, "config_hash": self.experiment.hash,
                "config_source": str(Path(source).resolve()) if source else None}

    def _train_logs_now(self) -> dict[str, float]:
        """Mid-epoch, the current train logs as numbers (read from the metric state)."""
        if not self.progress.step:
            return {}
        return read_step_logs(self.train_logs, self.recipe, "train_step")

    def save_checkpoint(self, path: Path, weights_only: bool = False) -> None:
        """Called on every rank (a mid-epoch state reduces the ranks' metrics); rank 0 writes."""
        if weights_only:
            state = {**self._identity(),
                     "models": {n: m.state_dict() for n, m in self.recipe.models.items()}}
        else:
            partial = self.dist if self.progress.step else SINGLE
            with global_metric_state(self.recipe.metric_modules(), partial):
                state = self.state_dict()
        if self.is_main:
            self.checkpoints.save(path, state)
            self.callbacks.on_checkpoint(path)
