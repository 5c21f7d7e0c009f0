"""Regression metrics that are not simply a loss averaged over samples: RMSE, the (positive)
cosine similarity, LogCoshError under Keras's `logcosh` name, and R2Score."""
from __future__ import annotations

import torch

from ..errors import ConfigError
from ..losses.base import align_ranks
from ..losses.regression import l2_normalize, log_cosh
from .base import METRICS, Mean, MeanMetricWrapper, Metric


@METRICS.register("root_mean_squared_error", "RootMeanSquaredError", "rmse")
class RootMeanSquaredError(Mean):
    def __init__(self, name: str = "root_mean_squared_error"):
        super().__init__(name)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = align_ranks(y_true.float(), y_pred.float())
        super().update_state((y_pred - y_true).square(), sample_weight)

    def result(self) -> torch.Tensor:
        return super().result().sqrt()


def cosine_similarity(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    y_true, y_pred = align_ranks(y_true.float(), y_pred.float())
    return (l2_normalize(y_true, axis) * l2_normalize(y_pred, axis)).sum(dim=axis)


@METRICS.register("cosine_similarity", "CosineSimilarity")
class CosineSimilarity(MeanMetricWrapper):
    def __init__(self, name: str = "cosine_similarity", axis: int = -1):
        super().__init__(cosine_similarity, name, direction="up", axis=axis)


def _log_cosh(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = align_ranks(y_true.float(), y_pred.float())
    return log_cosh(y_true, y_pred)


@METRICS.register("log_cosh_error", "LogCoshError")
class LogCoshError(MeanMetricWrapper):
    def __init__(self, name: str = "logcosh"):
        super().__init__(_log_cosh, name)


@METRICS.register("r2_score", "R2Score")
class R2Score(Metric):
    """Coefficient of determination per output column, aggregated as Keras does."""

    direction = "up"

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score"):
        super().__init__(name)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("class_aggregation must be uniform_average, "
                             "variance_weighted_average or null")
        if num_regressors < 0:
            raise ValueError("num_regressors must be >= 0")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.add_state("num_samples")

    def check_output(self, shape: tuple, key_path: str) -> None:
        if len(shape) != 1:
            raise ConfigError(f"R2Score needs outputs of shape [n], got {list(shape)}", key_path)
        self._build(shape[0])

    def _build(self, columns: int) -> None:
        if not hasattr(self, "total_mse"):
            for state in ("squared_sum", "sum", "total_mse", "count"):
                self.add_state(state, (columns,))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = align_ranks(y_true.float(), y_pred.float())
        self._build(y_pred.shape[-1])
        if sample_weight is None:
            weight = torch.ones_like(y_true)
        else:
            weight = sample_weight.float()
            weight = (weight.unsqueeze(1) if weight.dim() == 1 else weight).expand_as(y_true)
        weighted = y_true * weight
        self.sum.add_(weighted.sum(dim=0))
        self.squared_sum.add_((y_true * weighted).sum(dim=0))
        self.total_mse.add_(((y_true - y_pred).square() * weight).sum(dim=0))
        self.count.add_(weight.sum(dim=0))
        self.num_samples.add_(y_true.numel())

    def result(self) -> torch.Tensor:
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1 - self.total_mse / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n, p = self.num_samples, float(self.num_regressors)
            adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
            score = torch.where(p < n - 1.0, adjusted, score)
        return score
