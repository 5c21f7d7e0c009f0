"""TrainOptimizer: a Keras-rule torch optimizer + per-batch schedule + clipping."""
from __future__ import annotations

from typing import Any, Iterable

import torch

from ..errors import ConfigError
from ..registry import Registry, split_spec
from .schedules import SCHEDULES, Schedule

OPTIMIZERS = Registry("optimizer")


class TrainOptimizer:
    """What recipes call: `zero_grad()`, `step()`. Sets the scheduled lr before each update,
    applies Keras clipping, and counts iterations on the host (no device sync)."""

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule | None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None):
        self.optimizer = optimizer
        self.schedule = schedule
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = 0

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = float(value)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def step(self, scaler: torch.amp.GradScaler | None = None) -> None:
        if self.schedule is not None:
            self.lr = self.schedule(self.iterations)
        if scaler is not None and (self.clipnorm or self.clipvalue or self.global_clipnorm):
            scaler.unscale_(self.optimizer)
        self._clip()
        if scaler is not None:
            scaler.step(self.optimizer)
        else:
            self.optimizer.step()
        self.iterations += 1

    def _clip(self) -> None:
        grads = [p for p in self.params if p.grad is not None]
        if self.clipvalue:
            for p in grads:
                p.grad.clamp_(-self.clipvalue, self.clipvalue)
        if self.clipnorm:
            for p in grads:
                torch.nn.utils.clip_grad_norm_([p], self.clipnorm)
        if self.global_clipnorm:
            torch.nn.utils.clip_grad_norm_(grads, self.global_clipnorm)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "iterations": self.iterations}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.iterations = int(state["iterations"])
        if self.schedule is not None:
            self.lr = self.schedule(self.iterations)


def build_optimizer(spec: Any, params: Iterable[torch.Tensor], key_path: str) -> TrainOptimizer:
    name, args = split_spec(spec, key_path, "optimizer")
    args = dict(args)
    clipping = {k: args.pop(k) for k in ("clipnorm", "clipvalue", "global_clipnorm") if k in args}
    lr = args.pop("learning_rate", None)
    schedule: Schedule | None = None
    if isinstance(lr, (str, dict)):
        schedule = SCHEDULES.build(lr, f"{key_path}.learning_rate")
        lr = schedule(0)
    factory = OPTIMIZERS.lookup(name, f"{key_path}.type" if isinstance(spec, dict) else key_path)
    if lr is not None:
        args["learning_rate"] = float(lr)
    optimizer = OPTIMIZERS.build({"type": name, **args}, key_path, params=list(params))
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"{factory!r} did not build a torch optimizer", key_path)
    return TrainOptimizer(optimizer, schedule, **clipping)
