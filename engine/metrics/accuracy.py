"""Accuracy family."""
from __future__ import annotations

import torch

from .base import METRICS, MeanMetricWrapper


def sparse_categorical_matches(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    labels = y_true.reshape(y_pred.shape[:-1])
    return (y_pred.argmax(dim=-1) == labels).float()


@METRICS.register("sparse_categorical_accuracy", "SparseCategoricalAccuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_matches, name, direction="up")
