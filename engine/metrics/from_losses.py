"""Every loss usable as a metric: the loss's per-sample values averaged over the epoch
(Keras's BinaryCrossentropy, KLDivergence, Hinge, MeanSquaredError... metrics)."""
from __future__ import annotations

from typing import Any

import torch

from ..losses import Loss
from ..losses.base import broadcast_weight
from .base import Mean


class LossMetric(Mean):
    def __init__(self, loss: Loss, name: str):
        super().__init__(name)
        self.loss = loss

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: torch.Tensor | None = None) -> None:
        values, mask = self.loss.values(y_true.detach(), y_pred.detach())
        if mask is not None:  # Keras: masked entries get weight 0 (reduction "sum")
            mask = mask.to(values.dtype)
            sample_weight = mask if sample_weight is None else broadcast_weight(sample_weight, mask) * mask
        super().update_state(values, sample_weight)

    def check_output(self, shape: tuple, key_path: str) -> None:
        self.loss.check_output(shape, key_path)
