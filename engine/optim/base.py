"""TrainOptimizer: a Keras-rule torch optimizer + per-batch schedule + Keras gradient clipping."""
from __future__ import annotations

import inspect
from typing import Any, Iterable

import torch

from ..errors import ConfigError
from ..registry import Registry, split_spec
from .schedules import SCHEDULES, Schedule

OPTIMIZERS = Registry("optimizer", expects=(torch.optim.Optimizer,))
CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


class TrainOptimizer:
    """What recipes call: `zero_grad()`, `step()`. Sets the scheduled lr before each update,
    clips as Keras does, and counts iterations on the host (no device sync)."""

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule | None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None,
                 scaler: torch.amp.GradScaler | None = None):
        self.optimizer = optimizer
        self.scaler = scaler  # fp16 training's gradient scaler, used by Recipe.minimize
        self.schedule = schedule
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = 0

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    @property
    def lr(self) -> float:
        """The learning rate of the next step (Keras `optimizer.learning_rate`)."""
        if self.schedule is not None:
            return float(self.schedule(self.iterations))
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
        """Keras's rules, on the device: per-tensor `g * c / max(|g|, c)`, global
        `g * c / max(global_norm, c)`, or elementwise clamp to [-c, c]."""
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            return
        if self.clipnorm:
            norms = torch._foreach_norm(grads)
            torch._foreach_clamp_min_(norms, self.clipnorm)
            torch._foreach_reciprocal_(norms)
            torch._foreach_mul_(norms, self.clipnorm)
            torch._foreach_mul_(grads, norms)
        elif self.global_clipnorm:
            total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            torch._foreach_mul_(grads, self.global_clipnorm / total.clamp_min(self.global_clipnorm))
        elif self.clipvalue:
            torch._foreach_clamp_min_(grads, -self.clipvalue)
            torch._foreach_clamp_max_(grads, self.clipvalue)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "iterations": self.iterations}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.iterations = int(state["iterations"])
        if self.schedule is not None:
            self.lr = self.schedule(self.iterations)


def build_optimizer(spec: Any, params: Iterable[torch.Tensor], key_path: str,
                    scaler: torch.amp.GradScaler | None = None) -> TrainOptimizer:
    name, args = split_spec(spec, key_path, "optimizer")
    args = dict(args)
    clipping = {k: args.pop(k) for k in CLIPPING if k in args}
    given = [k for k, v in clipping.items() if v is not None]
    if len(given) > 1:
        raise ConfigError(f"only one of clipnorm, clipvalue, global_clipnorm can be set "
                          f"(got {', '.join(given)})", f"{key_path}.{given[1]}")
    for k, v in clipping.items():
        if v is not None and (not isinstance(v, (int, float)) or v <= 0):
            raise ConfigError(f"{k} must be a positive number, got {v!r}", f"{key_path}.{k}")
    lr = args.pop("learning_rate", None)
    schedule: Schedule | None = None
    if isinstance(lr, (str, dict)):
        schedule = SCHEDULES.build(lr, f"{key_path}.learning_rate")
        lr = schedule(0)
    factory = OPTIMIZERS.lookup(name, f"{key_path}.type" if isinstance(spec, dict) else key_path)
    if lr is not None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            raise ConfigError(f"learning_rate must be a number or a schedule, got {lr!r}",
                              f"{key_path}.learning_rate")
        args[_lr_argument(factory)] = float(lr)
    optimizer = OPTIMIZERS.build({"type": name, **args}, key_path, params=list(params))
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"{factory!r} did not build a torch optimizer", key_path)
    return TrainOptimizer(optimizer, schedule, **clipping, scaler=scaler)


def _lr_argument(factory: Any) -> str:
    """`learning_rate` (Keras names), or `lr` for a torch optimizer given by import path."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return "learning_rate"
    return "lr" if "lr" in params and "learning_rate" not in params else "learning_rate"
