"""The Keras guide's `CategoricalTruePositives` user metric ("Training & evaluation with the
built-in methods"), written against trainer's Metric: counts, over the epoch, the samples whose
arg-max prediction equals the integer label (weighted by sample_weight when given)."""
from __future__ import annotations

import torch

from trainer.engine.metrics import Metric


class CategoricalTruePositives(Metric):
    direction = "up"

    def __init__(self, name: str = "categorical_true_positives"):
        super().__init__(name)
        self.add_state("true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        predicted = y_pred.argmax(dim=1).reshape(-1, 1)
        values = (y_true.reshape(-1, 1).long() == predicted).float()
        if sample_weight is not None:
            values = values * sample_weight.reshape(-1, 1)
        self.true_positives.add_(values.sum())

    def result(self) -> torch.Tensor:
        return self.true_positives.clone()
