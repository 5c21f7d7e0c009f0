"""Regression losses (Keras formulas: epsilon placement, clipping, axis -1 means)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import EPSILON, LOSSES, LossFunctionWrapper


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_true - y_pred).square().mean(dim=-1)


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_true - y_pred).abs().mean(dim=-1)


def mean_absolute_percentage_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    diff = ((y_true - y_pred) / y_true.abs().clamp_min(EPSILON)).abs()
    return 100.0 * diff.mean(dim=-1)


def mean_squared_logarithmic_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    first = torch.log(y_pred.clamp_min(EPSILON) + 1.0)
    second = torch.log(y_true.clamp_min(EPSILON) + 1.0)
    return (first - second).square().mean(dim=-1)


def huber(y_true: torch.Tensor, y_pred: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    error = y_pred - y_true
    abs_error = error.abs()
    quadratic = 0.5 * error.square()
    linear = delta * abs_error - 0.5 * delta * delta
    return torch.where(abs_error <= delta, quadratic, linear).mean(dim=-1)


def log_cosh(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    x = y_pred - y_true
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(dim=-1)


def l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    """Keras `normalize`: x * min(rsqrt(sum(x^2)), 1/epsilon)."""
    inv_norm = torch.rsqrt(x.square().sum(dim=axis, keepdim=True)).clamp_max(1.0 / EPSILON)
    return x * inv_norm


def cosine_similarity(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The loss: minus the cosine (the metric of the same name is the plain cosine)."""
    return -(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis)).sum(dim=axis)


@LOSSES.register("mean_squared_error", "MeanSquaredError", "mse")
class MeanSquaredError(LossFunctionWrapper):
    fn = mean_squared_error

    def __init__(self, name: str = "mean_squared_error"):
        super().__init__(name)


@LOSSES.register("mean_absolute_error", "MeanAbsoluteError", "mae")
class MeanAbsoluteError(LossFunctionWrapper):
    fn = mean_absolute_error

    def __init__(self, name: str = "mean_absolute_error"):
        super().__init__(name)


@LOSSES.register("mean_absolute_percentage_error", "MeanAbsolutePercentageError", "mape")
class MeanAbsolutePercentageError(LossFunctionWrapper):
    fn = mean_absolute_percentage_error

    def __init__(self, name: str = "mean_absolute_percentage_error"):
        super().__init__(name)


@LOSSES.register("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", "msle")
class MeanSquaredLogarithmicError(LossFunctionWrapper):
    fn = mean_squared_logarithmic_error

    def __init__(self, name: str = "mean_squared_logarithmic_error"):
        super().__init__(name)


@LOSSES.register("huber", "Huber", "huber_loss")
class Huber(LossFunctionWrapper):
    fn = huber

    def __init__(self, delta: float = 1.0, name: str = "huber_loss"):
        super().__init__(name, delta=float(delta))


@LOSSES.register("log_cosh", "LogCosh", "logcosh")
class LogCosh(LossFunctionWrapper):
    fn = log_cosh

    def __init__(self, name: str = "log_cosh"):
        super().__init__(name)


@LOSSES.register("cosine_similarity", "CosineSimilarity")
class CosineSimilarity(LossFunctionWrapper):
    fn = cosine_similarity

    def __init__(self, axis: int = -1, name: str = "cosine_similarity"):
        super().__init__(name, axis=axis)
