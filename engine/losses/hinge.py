"""Hinge losses; 0/1 labels become -1/1 as in Keras (decided on the device, no host sync)."""
from __future__ import annotations

import torch

from .base import LOSSES, LossFunctionWrapper


def hinge_labels(y_true: torch.Tensor) -> torch.Tensor:
    """Keras converts labels to -1/1 when every label is 0 or 1, else leaves them."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (1.0 - hinge_labels(y_true) * y_pred).clamp_min(0.0).mean(dim=-1)


def squared_hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (1.0 - hinge_labels(y_true) * y_pred).clamp_min(0.0).square().mean(dim=-1)


def categorical_hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    positive = (y_true * y_pred).sum(dim=-1)
    negative = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return (negative - positive + 1.0).clamp_min(0.0)


@LOSSES.register("hinge", "Hinge")
class Hinge(LossFunctionWrapper):
    fn = hinge

    def __init__(self, name: str = "hinge"):
        super().__init__(name)


@LOSSES.register("squared_hinge", "SquaredHinge")
class SquaredHinge(LossFunctionWrapper):
    fn = squared_hinge

    def __init__(self, name: str = "squared_hinge"):
        super().__init__(name)


@LOSSES.register("categorical_hinge", "CategoricalHinge")
class CategoricalHinge(LossFunctionWrapper):
    fn = categorical_hinge
    needs_classes = True

    def __init__(self, name: str = "categorical_hinge"):
        super().__init__(name)
