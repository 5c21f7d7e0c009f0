"""The default recipe: Keras's built-in `train_step` for (x, y, sample_weight) batches."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from trainer.engine.errors import ConfigError

from trainer.engine.recipe import Recipe


class Supervised(Recipe):
    needs_targets = True

    def __init__(self, models, optimizers, loss=None, metrics=None,
                 class_weight: torch.Tensor | None = None):
        super().__init__(models, optimizers, loss, metrics)
        if loss is None:
            raise ConfigError("the supervised recipe needs a loss", "compile.loss")
        self.class_weight = class_weight  # [num_classes] on the device, or None
        # Decided once: a model without regularisers adds nothing to each step's loss.
        self.penalty = (self.model.regularization_loss
                        if getattr(self.model, "has_regularization", False) else None)

    def train_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        x, y, sample_weight = batch
        y_pred = self.model(x)
        weight = self.training_weights(y, sample_weight)
        loss, output_losses = self.loss(y, y_pred, weight)
        total = self.with_penalty(loss)
        self.minimize(total, self.optimizer)
        self.apply_constraints()
        self.metrics.update(y, y_pred, weight, total, output_losses, _batch_size(x))
        return self.metrics.logs()

    def test_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        x, y, sample_weight = batch
        y_pred = self.model(x)
        loss, output_losses = self.loss(y, y_pred, sample_weight)
        total = self.with_penalty(loss)
        self.metrics.update(y, y_pred, sample_weight, total, output_losses, _batch_size(x))
        return self.metrics.logs()

    def predict_step(self, batch: Any) -> Any:
        return self.model(batch.x)

    def with_penalty(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss plus the model's regularisation penalties, as Keras logs it."""
        return loss if self.penalty is None else loss + self.penalty()

    def apply_constraints(self) -> None:
        constrain = getattr(self.model, "apply_constraints", None)
        if constrain is not None:
            constrain()

    def training_weights(self, y: Any, sample_weight: torch.Tensor | None) -> torch.Tensor | None:
        """sample_weight x class_weight[label] (Keras multiplies neither; we multiply both)."""
        if self.class_weight is None:
            return sample_weight
        labels = y.argmax(dim=-1) if y.dim() > 1 and y.shape[-1] > 1 else y.reshape(-1)
        weight = self.class_weight[labels.long()]
        return weight if sample_weight is None else weight * sample_weight


def _batch_size(x: Any) -> int:
    return (next(iter(x.values())) if isinstance(x, dict) else x).shape[0]
