"""F1Score and FBetaScore (average None / micro / macro / weighted), Keras's formulas."""
from __future__ import annotations

import torch

from ..errors import ConfigError
from ..losses.base import EPSILON
from .base import METRICS, Metric


@METRICS.register("fbeta_score", "FBetaScore")
class FBetaScore(Metric):
    direction = "up"

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score"):
        super().__init__(name)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("average must be null, micro, macro or weighted")
        if beta <= 0:
            raise ValueError("beta must be > 0")
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        self.average, self.beta, self.threshold = average, float(beta), threshold

    def check_output(self, shape: tuple, key_path: str) -> None:
        if len(shape) != 1:
            raise ConfigError(f"{self.name} needs outputs of shape [classes], got {list(shape)}",
                              key_path)
        self._build(shape[0])

    def _build(self, classes: int) -> None:
        if not hasattr(self, "true_positives"):
            shape = () if self.average == "micro" else (classes,)
            for state in ("true_positives", "false_positives", "false_negatives",
                          "intermediate_weights"):
                self.add_state(state, shape)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = y_true.detach().float(), y_pred.detach().float()
        self._build(y_pred.shape[-1])
        if self.threshold is None:
            top = y_pred.amax(dim=-1, keepdim=True)
            predicted = ((y_pred >= top) & (y_pred.abs() > 1e-9)).float()
        else:
            predicted = (y_pred > self.threshold).float()
        weight = None if sample_weight is None else sample_weight.detach().float().reshape(-1, 1)
        dims = None if self.average == "micro" else 0

        def weighted_sum(values: torch.Tensor) -> torch.Tensor:
            values = values if weight is None else values * weight
            return values.sum() if dims is None else values.sum(dim=dims)

        self.true_positives.add_(weighted_sum(predicted * y_true))
        self.false_positives.add_(weighted_sum(predicted * (1 - y_true)))
        self.false_negatives.add_(weighted_sum((1 - predicted) * y_true))
        self.intermediate_weights.add_(weighted_sum(y_true))

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + EPSILON)
        recall = tp / (tp + self.false_negatives + EPSILON)
        beta2 = self.beta ** 2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return (score * weights).sum()
        return score if self.average is None else score.mean()


@METRICS.register("f1_score", "F1Score")
class F1Score(FBetaScore):
    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score"):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name)
