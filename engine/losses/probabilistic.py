"""Cross-entropy family, focal losses, KL divergence and Poisson (Keras semantics:
probabilities are renormalised and clipped to [eps, 1-eps] before the log)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import EPSILON, LOSSES, LossFunctionWrapper


def _clipped(p: torch.Tensor) -> torch.Tensor:
    return p.clamp(EPSILON, 1.0 - EPSILON)


def _elementwise_bce(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
    if from_logits:
        return F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    p = _clipped(y_pred)
    return -(y_true * torch.log(p) + (1.0 - y_true) * torch.log(1.0 - p))


def _smooth_binary(y_true: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else y_true


def _smooth_categorical(y_true: torch.Tensor, label_smoothing: float, axis: int) -> torch.Tensor:
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]


def _log_probs(y_pred: torch.Tensor, from_logits: bool, axis: int) -> torch.Tensor:
    if from_logits:
        return torch.log_softmax(y_pred, dim=axis)
    return torch.log(_clipped(y_pred / y_pred.sum(dim=axis, keepdim=True)))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true = _smooth_binary(y_true, label_smoothing)
    return _elementwise_bce(y_true, y_pred, from_logits).mean(dim=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    bce = _elementwise_bce(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = (1.0 - p_t).pow(gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return focal.mean(dim=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true = _smooth_categorical(y_true, label_smoothing, axis)
    return -(y_true * _log_probs(y_pred, from_logits, axis)).sum(dim=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    y_true = _smooth_categorical(y_true, label_smoothing, axis)
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    output = _clipped(y_pred / y_pred.sum(dim=axis, keepdim=True))
    focal = alpha * (1.0 - output).pow(gamma) * (-y_true * torch.log(output))
    return focal.sum(dim=axis)


def sparse_labels(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Integer labels shaped like `y_pred` without its class axis (a trailing 1 is squeezed)."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return y_true


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    labels = sparse_labels(y_true, y_pred)
    if ignore_class is not None:
        labels = torch.where(labels == ignore_class, torch.zeros_like(labels), labels)
    log_probs = _log_probs(y_pred, from_logits, axis).movedim(axis, -1)
    values = -log_probs.gather(-1, labels.long().unsqueeze(-1)).squeeze(-1)
    if ignore_class is not None:
        values = torch.where(sparse_labels(y_true, y_pred) == ignore_class,
                             torch.zeros_like(values), values)
    return values


def kl_divergence(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true = y_true.clamp(EPSILON, 1.0)
    y_pred = y_pred.clamp(EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)


def poisson(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_pred - y_true * torch.log(y_pred + EPSILON)).mean(dim=-1)


@LOSSES.register("binary_crossentropy", "BinaryCrossentropy", "bce")
class BinaryCrossentropy(LossFunctionWrapper):
    fn = binary_crossentropy

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 name: str = "binary_crossentropy"):
        super().__init__(name, from_logits=from_logits, label_smoothing=float(label_smoothing),
                         axis=axis)


@LOSSES.register("binary_focal_crossentropy", "BinaryFocalCrossentropy")
class BinaryFocalCrossentropy(LossFunctionWrapper):
    fn = binary_focal_crossentropy

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 name: str = "binary_focal_crossentropy"):
        super().__init__(name, apply_class_balancing=apply_class_balancing, alpha=float(alpha),
                         gamma=float(gamma), from_logits=from_logits,
                         label_smoothing=float(label_smoothing), axis=axis)


@LOSSES.register("categorical_crossentropy", "CategoricalCrossentropy")
class CategoricalCrossentropy(LossFunctionWrapper):
    fn = categorical_crossentropy
    needs_classes = True

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 name: str = "categorical_crossentropy"):
        super().__init__(name, from_logits=from_logits, label_smoothing=float(label_smoothing),
                         axis=axis)


@LOSSES.register("categorical_focal_crossentropy", "CategoricalFocalCrossentropy")
class CategoricalFocalCrossentropy(LossFunctionWrapper):
    fn = categorical_focal_crossentropy
    needs_classes = True

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 name: str = "categorical_focal_crossentropy"):
        super().__init__(name, alpha=float(alpha), gamma=float(gamma), from_logits=from_logits,
                         label_smoothing=float(label_smoothing), axis=axis)


@LOSSES.register("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    fn = sparse_categorical_crossentropy
    needs_classes = True

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1,
                 name: str = "sparse_categorical_crossentropy"):
        super().__init__(name, from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.ignore_class = ignore_class

    def valid_mask(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor | None:
        if self.ignore_class is None:
            return None
        return sparse_labels(y_true, y_pred) != self.ignore_class


@LOSSES.register("kl_divergence", "KLDivergence", "kld", "kullback_leibler_divergence")
class KLDivergence(LossFunctionWrapper):
    fn = kl_divergence

    def __init__(self, name: str = "kl_divergence"):
        super().__init__(name)


@LOSSES.register("poisson", "Poisson")
class Poisson(LossFunctionWrapper):
    fn = poisson

    def __init__(self, name: str = "poisson"):
        super().__init__(name)
