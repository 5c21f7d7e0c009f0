"""Cross-entropy family (Keras semantics: probabilities are clipped to [eps, 1-eps])."""
from __future__ import annotations

import torch

from .base import LOSSES, Loss

EPSILON = 1e-7


@LOSSES.register("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False):
        self.from_logits = from_logits

    def per_sample(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        if self.from_logits:
            log_probs = torch.log_softmax(y_pred, dim=-1)
        else:
            # Keras renormalises, then clips before the log.
            probs = y_pred / y_pred.sum(dim=-1, keepdim=True)
            log_probs = probs.clamp(EPSILON, 1.0 - EPSILON).log()
        labels = y_true.reshape(log_probs.shape[:-1]).long()
        return -log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
