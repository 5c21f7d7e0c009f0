"""The recipe API: what a training algorithm implements, and what the loop gives it.

A recipe receives its built models, optimizers, compiled loss and metrics, and implements
`train_step(batch) -> logs` (plus `test_step` / `predict_step` when it evaluates or predicts).
The loop owns everything else: devices, autocast, epochs, callbacks, checkpoints, resume.
`logs` maps names to 0-d tensors; they are read only when someone looks (progress bar timer,
epoch end), so a step never waits for the device.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from trainer.engine.registry import Registry

RECIPES = Registry("recipe")


class Recipe:
    #: Model names the recipe expects (`model` for single-model recipes).
    model_names: tuple[str, ...] = ("model",)

    def __init__(self, models: dict[str, nn.Module], optimizers: dict[str, Any],
                 loss: Any = None, metrics: Any = None, **options: Any):
        self.models = models
        self.optimizers = optimizers
        self.loss = loss
        self.metrics = metrics
        self.options = options

    # Shorthands for single-model recipes.
    @property
    def model(self) -> nn.Module:
        return self.models["model"]

    @property
    def optimizer(self) -> Any:
        return self.optimizers["optimizer"]

    # What subclasses implement.
    def train_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        raise NotImplementedError

    def test_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} does not implement test_step")

    def predict_step(self, batch: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement predict_step")

    @classmethod
    def implements(cls, step: str) -> bool:
        """Whether this recipe overrides `step` (e.g. 'test_step')."""
        return getattr(cls, step) is not getattr(Recipe, step)

    # Mechanics recipes call.
    def minimize(self, loss: torch.Tensor, optimizer: Any) -> None:
        """zero_grad, backward (through the optimizer's gradient scaler when fp16), update."""
        optimizer.zero_grad()
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None:
            scaler.scale(loss).backward()
            optimizer.step(scaler)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    def metric_modules(self) -> dict[str, nn.Module]:
        """Stateful metric holders (moved to the device, reset per epoch, checkpointed)."""
        return {"metrics": self.metrics} if isinstance(self.metrics, nn.Module) else {}

    def reset_metrics(self) -> None:
        for module in self.metric_modules().values():
            for metric in module.modules():
                if hasattr(metric, "reset_state"):
                    metric.reset_state()

    def state_dict(self) -> dict[str, Any]:
        """Extra state a recipe keeps beyond models/optimizers/metrics (default: none)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass
