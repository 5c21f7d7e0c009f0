"""Accuracy family (Keras's per-sample match functions, averaged by MeanMetricWrapper).

The YAML string `accuracy` (or `acc`) picks binary, sparse or categorical accuracy from the
shapes of targets and predictions, as Keras's `compile` does."""
from __future__ import annotations

import torch

from ..losses.base import align_ranks
from .base import METRICS, MeanMetricWrapper


def accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = align_ranks(y_true.float(), y_pred.float())
    return (y_true == y_pred).float()


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    y_true, y_pred = align_ranks(y_true.float(), y_pred.float())
    return (y_true == (y_pred > threshold).float()).float()


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_true.argmax(dim=-1) == y_pred.argmax(dim=-1)).float()


def _sparse_targets(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return y_true


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    labels = _sparse_targets(y_true, y_pred)
    return (y_pred.argmax(dim=-1) == labels.long()).float()


def _in_top_k(labels: torch.Tensor, y_pred: torch.Tensor, k: int) -> torch.Tensor:
    y_pred = y_pred.float().reshape(-1, y_pred.shape[-1])
    kth = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).values[:, -1]
    target = y_pred.gather(-1, labels.reshape(-1, 1).long()).squeeze(-1)
    return (target >= kth).float().reshape(labels.shape)


def top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, k: int = 5) -> torch.Tensor:
    return _in_top_k(y_true.argmax(dim=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, k: int = 5
                                      ) -> torch.Tensor:
    return _in_top_k(_sparse_targets(y_true, y_pred), y_pred, k)


def auto_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Keras `compile` semantics of the string 'accuracy'."""
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    if y_true.dim() < y_pred.dim() or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


@METRICS.register("Accuracy")
class Accuracy(MeanMetricWrapper):
    """Exact equality of targets and predictions (the class; the string picks by shape)."""

    def __init__(self, name: str = "accuracy"):
        super().__init__(accuracy, name, direction="up")


class AutoAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "accuracy"):
        super().__init__(auto_accuracy, name, direction="up")


@METRICS.register("binary_accuracy", "BinaryAccuracy")
class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5):
        super().__init__(binary_accuracy, name, direction="up", threshold=float(threshold))


@METRICS.register("categorical_accuracy", "CategoricalAccuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    needs_classes = True

    def __init__(self, name: str = "categorical_accuracy"):
        super().__init__(categorical_accuracy, name, direction="up")


@METRICS.register("sparse_categorical_accuracy", "SparseCategoricalAccuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    needs_classes = True

    def __init__(self, name: str = "sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name, direction="up")


@METRICS.register("top_k_categorical_accuracy", "TopKCategoricalAccuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    needs_classes = True

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy"):
        super().__init__(top_k_categorical_accuracy, name, direction="up", k=int(k))


@METRICS.register("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    needs_classes = True

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy"):
        super().__init__(sparse_top_k_categorical_accuracy, name, direction="up", k=int(k))
