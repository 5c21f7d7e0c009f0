"""The recipe contract: what a training algorithm implements, what the loop gives it, and the
catalogue of recipes by name (the built-ins in trainer.recipes are declared here by import path,
so the engine never imports them until one is asked for).

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

from .errors import RecipeError
from .metrics import Mean, MetricLogs
from .registry import Registry

RECIPES = Registry("recipe")
for _name, _ref in {"supervised": "trainer.recipes.supervised:Supervised",
                    "gan": "trainer.recipes.gan:GAN",
                    "linear_regression": "trainer.recipes.linear_regression:LinearRegression",
                    "reconstructing_regressor":
                        "trainer.recipes.reconstructing_regressor:ReconstructingRegressor"}.items():
    RECIPES.declare(_name, _ref)


class Recipe:
    #: Models the recipe needs, by name (`model:` in YAML is the model named `model`). The
    #: first one is fed by the data and is the one callbacks and `summary` see.
    model_names: tuple[str, ...] = ("model",)
    #: Optimizers the recipe needs: `optimizer` is `compile.optimizer` over every model's
    #: parameters; other names come from `compile.optimizers: {model_name: spec}`.
    optimizer_names: tuple[str, ...] = ("optimizer",)
    #: Whether every batch must carry targets (y): data without them is refused up front.
    needs_targets: bool = False

    def __init__(self, models: dict[str, nn.Module], optimizers: dict[str, Any],
                 loss: Any = None, metrics: Any = None):
        self.models = models
        self.optimizers = optimizers
        self.loss = loss
        self.metrics = metrics
        self.trackers = nn.ModuleDict()

    @property
    def name(self) -> str:
        return type(self).__name__

    # Shorthands for single-model recipes.
    @property
    def model(self) -> nn.Module:
        return self.models["model"]

    @property
    def optimizer(self) -> Any:
        return self.optimizers["optimizer"]

    @property
    def device(self) -> torch.device:
        """Where the models live (the loop moved them there before building the recipe)."""
        first = next(iter(self.models.values()))
        return next((p.device for p in first.parameters()), torch.device("cpu"))

    # What subclasses implement.
    def train_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        """One optimisation step on `batch` (`Batch(x, y, sample_weight)`); returns logs."""
        raise RecipeError(f"recipe {self.name} does not implement train_step")

    def test_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        raise RecipeError(f"recipe {self.name} does not implement test_step, so it cannot "
                          f"validate or evaluate")

    def predict_step(self, batch: Any) -> Any:
        raise RecipeError(f"recipe {self.name} does not implement predict_step, so it cannot "
                          f"predict")

    def callbacks(self) -> list[Any]:
        """Callbacks the recipe brings along (run before the config's own), e.g. one that
        writes sample images to `self.loop.run_dir` at each epoch end."""
        return []

    @classmethod
    def target_outputs(cls, output_names: list[str], options: dict[str, Any]) -> list[str]:
        """The model outputs the data supplies targets for (`options`: the recipe's arguments)."""
        return list(output_names)

    @classmethod
    def logged_losses(cls, output_names: list[str], loss: Any, options: dict[str, Any]) -> list[str]:
        """The outputs whose loss is logged as `<output>_loss`: those the compiled loss covers."""
        return list(loss.losses) if loss is not None else []

    @classmethod
    def implements(cls, step: str) -> bool:
        """Whether this recipe overrides `step` (e.g. 'test_step')."""
        return getattr(cls, step) is not getattr(Recipe, step)

    # Mechanics recipes call.
    def minimize(self, loss: torch.Tensor, optimizer: Any) -> None:
        """zero_grad, backward (through the optimizer's gradient scaler when fp16), update.
        Only `optimizer`'s parameters change, though backward reaches every model the loss
        depends on (their gradients are cleared by their own optimizer before they are used)."""
        optimizer.zero_grad()
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None:
            scaler.scale(loss).backward()
            optimizer.step(scaler)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    def tracker(self, name: str) -> Mean:
        """A streaming mean logged as `name`: on the recipe's device, reset each epoch and
        checkpointed with the run. Update it with `tracker.update_state(value)`."""
        mean = Mean(name).to(self.device)
        self.trackers[name] = mean
        return mean

    def tracker_logs(self) -> MetricLogs:
        """Logs of every tracker, computed only when read."""
        return MetricLogs(dict(self.trackers))

    def metric_modules(self) -> dict[str, nn.Module]:
        """Stateful metric holders (reset per epoch, checkpointed): the compiled metrics and
        the recipe's trackers. Override to add others; keep them on `self.device`."""
        modules: dict[str, nn.Module] = {}
        if isinstance(self.metrics, nn.Module):
            modules["metrics"] = self.metrics
        if len(self.trackers):
            modules["trackers"] = self.trackers
        return modules

    def reset_metrics(self) -> None:
        for module in self.metric_modules().values():
            for metric in module.modules():
                if hasattr(metric, "reset_state"):
                    metric.reset_state()

    def state_dict(self) -> dict[str, Any]:
        """Extra state beyond models, optimizers and metric modules (e.g. a dedicated RNG);
        tensors, numbers, strings, lists and dicts only (checkpoints load with weights_only)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


RECIPES.expects = (Recipe,)
