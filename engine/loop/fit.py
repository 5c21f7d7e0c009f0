"""The fit loop: epochs of recipe train steps, validation, callbacks, and the full training
state it can checkpoint and restore mid-epoch.

Per step the loop does no host/device synchronisation: logs are lazily-read tensors, the step
counter is a Python int, and the interrupt check reads a host flag. `--max-time` is decided
at epoch ends from the measured epoch time."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..callbacks import Callback, CallbackList
from ..data import DeviceBatches, epoch_plan, make_batches
from ..errors import TrainingDiverged, TrainingInterrupted
from ..state.checkpoint import save_checkpoint
from ..state.rng import capture_rng, restore_rng
from .distributed import (SINGLE, DistContext, ShardedBatches, any_rank, global_metric_state,
                          sum_metric_states)
from .evaluate import evaluate_batches
from .precision import autocast, grad_scaler
from .step_logs import check_finite_losses, check_step_logs, read_step_logs


# Under torchrun, how often the ranks agree on a pending SIGTERM/SIGINT (one small collective).
INTERRUPT_CHECK_STEPS = 10


class FitLoop:
    def __init__(self, components: Any, callbacks: list[Callback], run_dir: Any,
                 max_seconds: float | None = None, log: Any = None,
                 started: float | None = None, dist: DistContext = SINGLE):
        self.components = components
        self.experiment = components.experiment
        self.cfg = self.experiment.config
        self.recipe = components.recipe
        self.device = components.device
        self.run_dir = run_dir
        self.main_model = components.main_model
        self.max_seconds = max_seconds
        self.log = log
        self.dist = dist
        fit = self.cfg.fit
        self.train_batches = self.batches(components.data.train, fit.batch_size, fit.shuffle)
        self.val_batches = None
        if components.data.validation is not None:
            self.val_batches = self.batches(components.data.validation,
                                            fit.validation_batch_size or fit.batch_size)
        self.steps_per_epoch = fit.steps_per_epoch or len(self.train_batches)
        for optimizer in self.recipe.optimizers.values():
            optimizer.scaler = grad_scaler(self.cfg.precision, self.device)
        # Training state (what a checkpoint holds besides components).
        self.epoch = 0            # epoch in progress (0-based)
        self.step = 0             # steps completed in that epoch
        self.global_step = 0
        self.history: dict[str, list] = {}
        self.epochs_done: list[int] = []
        self.train_logs: Any = {}  # the latest step's logs in the epoch in progress
        self.elapsed = 0.0        # training seconds over all invocations
        self.stop_training = False
        self.outcome: str | None = None  # set once training has ended
        self.resumed = False
        self.interrupt_reason: str | None = None
        self._divergence: str | None = None
        self._started = time.monotonic() if started is None else started
        self.callbacks = CallbackList([*self.recipe.callbacks(), *callbacks])
        self.callbacks.set_loop(self)  # may raise ConfigError: before anything is written

    @property
    def is_main(self) -> bool:
        """Whether this process writes artifacts (rank 0 under torchrun; always alone)."""
        return self.dist.is_main

    def batches(self, split: Any, batch_size: int, shuffle: bool = False) -> Any:
        """Batches of a split; under torchrun, this rank's share of each global batch."""
        batches = make_batches(split, batch_size, self.device, shuffle=shuffle, seed=self.cfg.seed)
        return ShardedBatches(batches, self.dist) if self.dist.enabled else batches

    # --- what callbacks and the CLI call -------------------------------------------------
    def request_interrupt(self, reason: str) -> None:
        self.interrupt_reason = reason

    def diverged(self, message: str) -> None:
        self._divergence = message
        self.stop_training = True

    def warn(self, message: str) -> None:
        if self.log:
            self.log.warning(message)

    def note(self, message: str) -> None:
        if self.log:
            self.log.info(message)

    def metric_direction(self, name: str) -> str | None:
        base = name.removeprefix("val_")
        if base == "loss" or base.endswith("_loss"):
            return "down"
        metrics = self.recipe.metrics
        for metric in (metrics.all.values() if metrics is not None else ()):
            if metric.name == base:
                return metric.direction
        return None

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> str:
        """Train to the end; return 'completed' or 'early_stopped'. Raises TrainingInterrupted
        (checkpoint written) or TrainingDiverged."""
        epochs = self.cfg.fit.epochs
        for model in self.recipe.models.values():
            model.train()
        self.callbacks.on_train_begin()
        while self.epoch < epochs and not self.stop_training:
            self._run_epoch()
        self.outcome = "early_stopped" if self.stop_training and self.epoch < epochs else "completed"
        self.callbacks.on_train_end(self._last_logs())
        return self.outcome

    def _run_epoch(self) -> None:
        epoch_start = time.monotonic()
        epoch, resumed_at = self.epoch, self.step
        self.callbacks.on_epoch_begin(epoch)
        if self.step == 0:
            self.recipe.reset_metrics()
            self.train_logs = {}
        data_pass, pass_offset, steps = epoch_plan(self.epoch, self.cfg.fit.steps_per_epoch,
                                                   len(self.train_batches))
        batches = self.train_batches.epoch(data_pass, pass_offset + self.step)
        precision = autocast(self.cfg.precision, self.device)
        batch_begin = self.callbacks.on_train_batch_begin
        batch_end = self.callbacks.on_train_batch_end
        every = self.cfg.fit.checkpoint_every
        while self.step < steps:
            batch = next(batches, None)
            if batch is None:
                break
            batch_begin(self.step)
            with precision:
                logs = self.train_logs = self.recipe.train_step(batch)
            check_step_logs(logs, self.recipe, "train_step")
            self.step += 1
            self.global_step += 1
            batch_end(self.step - 1, logs)
            if self._divergence:
                raise TrainingDiverged(self._divergence)
            if every and self.global_step % every == 0:
                self.save_checkpoint(self.run_dir.last_checkpoint)
            if self._interrupt_agreed():
                self._interrupt()
        sum_metric_states(self.recipe.metric_modules(), self.dist)
        # After a resume that landed after the epoch's last step, these are the saved logs.
        epoch_logs = read_step_logs(self.train_logs, self.recipe, "train_step")
        check_finite_losses(epoch_logs, self.recipe, "train_step", f"in epoch {epoch + 1}")
        if self.val_batches is not None and (epoch + 1) % self.cfg.fit.validation_freq == 0:
            val_logs = self.evaluate(self.val_batches, self.cfg.fit.validation_steps)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        epoch_logs["lr"] = self.recipe.optimizers[next(iter(self.recipe.optimizers))].lr
        seconds = time.monotonic() - epoch_start
        self.elapsed += seconds
        epoch_logs["seconds"] = round(seconds, 3)
        self._record(epoch_logs)
        # From here the epoch counts as done: a checkpoint written by a callback continues
        # with the next epoch.
        self.epoch += 1
        self.step = 0
        self.callbacks.on_epoch_end(epoch, epoch_logs)
        if self._divergence:
            raise TrainingDiverged(self._divergence)
        self.save_checkpoint(self.run_dir.last_checkpoint)
        # --max-time is decided here only, so every invocation completes at least one epoch.
        # Estimate a full epoch from this one (which may have started mid-way after a resume).
        estimate = seconds * self.steps_per_epoch / max(self.steps_per_epoch - resumed_at, 1)
        stop = bool(self.interrupt_reason or self._out_of_time(estimate))
        if self.epoch < self.cfg.fit.epochs and not self.stop_training and \
                any_rank(stop, self.dist, self.device):
            self.interrupt_reason = self.interrupt_reason or "interrupted on another rank"
            self._interrupt(checkpointed=True)

    def evaluate(self, batches: DeviceBatches, max_steps: int | None = None) -> dict[str, float]:
        for model in self.recipe.models.values():
            model.eval()
        try:
            logs = evaluate_batches(
                self.recipe, batches, self.callbacks, self.cfg.precision, self.device, max_steps,
                before_results=lambda: sum_metric_states(self.recipe.metric_modules(), self.dist))
        finally:
            for model in self.recipe.models.values():
                model.train()
        return logs

    def _record(self, logs: dict[str, float]) -> None:
        for key in logs:
            self.history.setdefault(key, [None] * len(self.epochs_done))
        for key, values in self.history.items():
            values.append(logs.get(key))
        self.epochs_done.append(self.epoch)

    def _last_logs(self) -> dict[str, float]:
        return {k: v[-1] for k, v in self.history.items() if v and v[-1] is not None}

    def seconds_since_start(self) -> float:
        return time.monotonic() - self._started

    def _out_of_time(self, next_epoch_seconds: float) -> bool:
        if self.max_seconds is None:
            return False
        if self.seconds_since_start() + next_epoch_seconds > self.max_seconds:
            self.interrupt_reason = self.interrupt_reason or "--max-time reached"
            return True
        return False

    def _interrupt_agreed(self) -> bool:
        """Alone: whether a signal arrived. Under torchrun the ranks agree every
        INTERRUPT_CHECK_STEPS steps, so all of them checkpoint and stop at the same step."""
        if not self.dist.enabled:
            return self.interrupt_reason is not None
        if self.global_step % INTERRUPT_CHECK_STEPS:
            return False
        if any_rank(self.interrupt_reason is not None, self.dist, self.device):
            self.interrupt_reason = self.interrupt_reason or "interrupted on another rank"
            return True
        return False

    def _interrupt(self, checkpointed: bool = False) -> None:
        if not checkpointed:
            self.save_checkpoint(self.run_dir.last_checkpoint)
        where = f"epoch {self.epoch + 1}, step {self.step}" if self.step else \
            f"the end of epoch {self.epoch}"
        raise TrainingInterrupted(f"{self.interrupt_reason}: checkpoint written at {where}")

    # --- training state ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        recipe = self.recipe
        return {
            **self._identity(),
            "models": {n: m.state_dict() for n, m in recipe.models.items()},
            "optimizers": {n: o.state_dict() for n, o in recipe.optimizers.items()},
            "scalers": {n: o.scaler.state_dict() for n, o in recipe.optimizers.items()
                        if o.scaler is not None},
            "metrics": {n: m.state_dict() for n, m in recipe.metric_modules().items()},
            "recipe": recipe.state_dict(),
            "callbacks": self.callbacks.state_dict(),
            "loop": {"epoch": self.epoch, "step": self.step, "global_step": self.global_step,
                     "history": self.history, "epochs_done": self.epochs_done,
                     "train_logs": self._train_logs_now(), "elapsed": self.elapsed,
                     "stop_training": self.stop_training, "outcome": self.outcome},
            "rng": capture_rng(),
            "data": self.components.data.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        recipe = self.recipe
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
        loop = state["loop"]
        self.epoch, self.step, self.global_step = loop["epoch"], loop["step"], loop["global_step"]
        self.history = {k: list(v) for k, v in loop["history"].items()}
        self.epochs_done = list(loop["epochs_done"])
        self.train_logs = dict(loop["train_logs"])
        self.elapsed = loop["elapsed"]
        self.stop_training = loop["stop_training"]
        self.outcome = loop["outcome"]
        restore_rng(state["rng"])
        self.resumed = True

    def _identity(self) -> dict[str, Any]:
        """What every checkpoint says about the run: its resolved config, the config's hash,
        and the config file it came from (where `file.py:Name` components are looked up)."""
        source = self.experiment.source
        return {"config": self.experiment.resolved, "config_hash": self.experiment.hash,
                "config_source": str(Path(source).resolve()) if source else None}

    def _train_logs_now(self) -> dict[str, float]:
        """Mid-epoch, the current train logs as numbers (read from the metric state)."""
        if not self.step:
            return {}
        return read_step_logs(self.train_logs, self.recipe, "train_step")

    def save_checkpoint(self, path: Path, weights_only: bool = False) -> None:
        """Called on every rank (a mid-epoch state sums the ranks' metrics); rank 0 writes."""
        if weights_only:
            state = {**self._identity(),
                     "models": {n: m.state_dict() for n, m in self.recipe.models.items()}}
        else:
            with global_metric_state(self.recipe.metric_modules(), self.dist if self.step else SINGLE):
                state = self.state_dict()
        if self.is_main:
            save_checkpoint(path, state)
            self.callbacks.on_checkpoint(path)
