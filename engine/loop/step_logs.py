"""What the loop accepts from a recipe step: a mapping of name -> number (0-d tensor or float).

Per step only the type is checked (host-side, no device sync); the values are read at epoch
end, where a non-finite loss stops the run as diverged, naming the recipe."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ..errors import RecipeError, TrainingDiverged


def check_step_logs(logs: Any, recipe: Any, step: str) -> None:
    if not isinstance(logs, Mapping):
        raise RecipeError(f"recipe {type(recipe).__name__}.{step} returned "
                          f"{type(logs).__name__}; it must return a mapping of name -> value "
                          f"(e.g. {{'loss': loss}})")


def read_step_logs(logs: Mapping, recipe: Any, step: str) -> dict[str, float]:
    """The logs as floats (this reads the device). A 1-D result (Precision with several
    thresholds, F1Score with average=None) becomes one entry per element: `name_0`, `name_1`..."""
    values = {}
    for name, value in logs.items():
        try:
            if isinstance(value, torch.Tensor) and value.dim() == 1:
                values.update({f"{name}_{i}": float(v) for i, v in enumerate(value.detach().tolist())})
                continue
            values[name] = float(value.detach() if isinstance(value, torch.Tensor) else value)
        except (TypeError, ValueError, RuntimeError):
            raise RecipeError(f"recipe {type(recipe).__name__}.{step} logged '{name}' as "
                              f"{type(value).__name__}; log values must be numbers or 0-d "
                              f"tensors") from None
    return values


def check_finite_losses(values: dict[str, float], recipe: Any, step: str, where: str) -> None:
    """A non-finite `loss` / `*_loss` raises TrainingDiverged (exit 3)."""
    bad = [f"{n}={v}" for n, v in values.items()
           if (n == "loss" or n.endswith("_loss")) and not math.isfinite(v)]
    if bad:
        raise TrainingDiverged(f"recipe {type(recipe).__name__}.{step} returned a non-finite "
                               f"loss ({', '.join(bad)}) {where}; add TerminateOnNaN to "
                               f"stop at the first such batch")
