"""Callbacks that change the optimizers' learning rate between epochs, with Keras's rules:
ReduceLROnPlateau (factor, patience, cooldown, min_lr, min_delta) and LearningRateScheduler
(a user function epoch -> lr, or (epoch, lr) -> lr, given by import path)."""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np
import torch

from ..errors import ConfigError
from ..registry import load_import_ref
from .base import CALLBACKS, Callback, MonitorCallback


class _SetsLearningRate(Callback):
    def set_loop(self, loop: Any) -> None:
        super().set_loop(loop)
        if any(o.schedule is not None for o in loop.recipe.optimizers.values()):
            raise self.config_error(f"{type(self).__name__} cannot change a learning rate that "
                                    f"compile.optimizer.learning_rate already schedules; use a "
                                    f"plain number there")


@CALLBACKS.register("ReduceLROnPlateau")
class ReduceLROnPlateau(_SetsLearningRate, MonitorCallback):
    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0):
        MonitorCallback.__init__(self, monitor, mode, None, min_delta)
        if factor >= 1.0:
            raise ValueError(f"factor must be < 1.0, got {factor}")
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            self.loop.warn(f"ReduceLROnPlateau monitors '{self.monitor}', which is not logged "
                           f"(logged: {', '.join(logs or {})})")
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience and self._reduce(epoch):
            self.cooldown_counter = self.cooldown
            self.wait = 0

    def _reduce(self, epoch: int) -> bool:
        reduced = False
        for name, optimizer in self.loop.recipe.optimizers.items():
            old = optimizer.lr
            # Keras compares with the float32 min_lr its optimizers store.
            if old > float(np.float32(self.min_lr)):
                optimizer.lr = max(old * self.factor, self.min_lr)
                reduced = True
                self.say(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing the learning rate of "
                          f"{name} to {optimizer.lr}.")
        return reduced

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state["best"], state["wait"]
        self.cooldown_counter = state["cooldown_counter"]


@CALLBACKS.register("LearningRateScheduler")
class LearningRateScheduler(_SetsLearningRate):
    """`schedule: my_pkg.schedules:step_decay` or `schedule: schedules.py:step_decay`."""

    def __init__(self, schedule: str, verbose: int = 0):
        if not isinstance(schedule, str):
            raise ValueError("schedule must be an import path 'module:function' or "
                             "'file.py:function'")
        try:
            self.schedule: Callable = load_import_ref(schedule, "schedule")
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        if not callable(self.schedule):
            raise ValueError(f"'{schedule}' is not a function")
        self.takes_lr = _positional_arity(self.schedule) >= 2
        self.verbose = verbose
        self.applied_epoch: int | None = None

    def on_epoch_begin(self, epoch, logs=None):
        # After a mid-epoch resume the optimizer already holds this epoch's rate.
        if self.applied_epoch == epoch:
            return
        for name, optimizer in self.loop.recipe.optimizers.items():
            lr = self.schedule(epoch, optimizer.lr) if self.takes_lr else self.schedule(epoch)
            if isinstance(lr, (np.ndarray, torch.Tensor)) and lr.ndim == 0:
                lr = lr.item()
            if not isinstance(lr, (float, np.floating)):
                raise self.config_error(f"the schedule must return a float, got {lr!r} "
                                        f"for epoch {epoch}", "schedule")
            optimizer.lr = float(lr)
            self.say(f"Epoch {epoch + 1}: LearningRateScheduler setting the learning rate of "
                      f"{name} to {float(lr)}.")
        self.applied_epoch = epoch

    def state_dict(self) -> dict[str, Any]:
        return {"applied_epoch": self.applied_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.applied_epoch = state["applied_epoch"]


def _positional_arity(function: Callable) -> int:
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
