"""The Loss base class and the loss catalogue.

A loss computes one value per sample (`per_sample`), then Keras's `sum_over_batch_size`:
sum(loss * sample_weight) / number of samples (not / sum of weights).
"""
from __future__ import annotations

from typing import Any

import torch

from ..registry import Registry

LOSSES = Registry("loss")


class Loss:
    name = "loss"

    def per_sample(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                 sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        values = self.per_sample(y_true, y_pred)
        if sample_weight is not None:
            values = values * sample_weight.reshape(sample_weight.shape + (1,) * (values.dim() - sample_weight.dim()))
        return values.sum() / values.numel()


class _FunctionLoss(Loss):
    """A user callable `fn(y_true, y_pred) -> per-sample values`."""

    def __init__(self, fn: Any, name: str):
        self.fn = fn
        self.name = name

    def per_sample(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self.fn(y_true, y_pred)


def build_loss(spec: Any, key_path: str) -> Loss:
    loss = LOSSES.build(spec, key_path)
    if isinstance(loss, Loss):
        return loss
    if callable(loss):
        name = spec if isinstance(spec, str) else spec.get("type", "loss")
        return _FunctionLoss(loss, str(name).split(":")[-1])
    raise TypeError(f"{key_path}: {spec!r} did not build a loss")
