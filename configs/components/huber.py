"""The book's custom Huber loss and streaming Huber metric ("Hands-On Machine Learning",
chapter 12), written against trainer's Loss and Metric base classes.

Use from YAML by file path: `loss: {type: components/huber.py:HuberLoss, threshold: 2.0}`."""
from __future__ import annotations

import torch

from trainer.engine.losses import Loss
from trainer.engine.metrics import Metric


def huber(y_true: torch.Tensor, y_pred: torch.Tensor, threshold: float) -> torch.Tensor:
    error = y_true - y_pred
    small = error.abs() < threshold
    return torch.where(small, error.square() / 2, threshold * error.abs() - threshold ** 2 / 2)


class HuberLoss(Loss):
    """Per-sample Huber values; the base class applies sample weights and the batch mean."""

    def __init__(self, threshold: float = 1.0, name: str = "huber_loss"):
        self.threshold = threshold
        self.name = name

    def per_sample(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return huber(y_true, y_pred, self.threshold)


class HuberMetric(Metric):
    """Streaming mean of the Huber values over every target value seen this epoch."""

    def __init__(self, threshold: float = 1.0, name: str = "huber_metric"):
        super().__init__(name)
        self.threshold = threshold
        self.add_state("total")
        self.add_state("count")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = huber(y_true.float().reshape(y_pred.shape), y_pred.float().detach(), self.threshold)
        self.total.add_(values.sum())
        self.count.add_(values.numel())

    def result(self) -> torch.Tensor:
        return self.total / self.count
