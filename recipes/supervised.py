"""The default recipe: Keras's built-in `train_step` for (x, y, sample_weight) batches."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from trainer.engine.errors import ConfigError

from trainer.engine.recipe import Recipe


class Supervised(Recipe):
    needs_targets = True

    def __init__(self, models, optimizers, loss=None, metrics=None):
        super().__init__(models, optimizers, loss, metrics)
        if loss is None:
            raise ConfigError("the supervised recipe needs a loss", "compile.loss")
        for output, output_loss in loss.losses.items():
            if output_loss.reduction == "none":
                raise ConfigError("reduction 'none' leaves one value per sample, for recipes that "
                                  "reduce them themselves; the supervised recipe needs a scalar "
                                  "loss (sum_over_batch_size, sum or mean_with_sample_weight)",
                                  f"{loss.key_paths[output]}.reduction")
        # Decided once: a model without regularisers adds nothing to each step's loss.
        self.penalty = (self.model.regularization_loss
                        if getattr(self.model, "has_regularization", False) else None)

    def train_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        x, y, sample_weight = batch
        y_pred = self.model(x)
        loss, output_losses = self.loss(y, y_pred, sample_weight)
        total = self.with_penalty(loss)
        self.minimize(total, self.optimizer)
        self.apply_constraints()
        self.metrics.update(y, y_pred, sample_weight, total, output_losses, _batch_size(x))
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


def _batch_size(x: Any) -> int:
    return (next(iter(x.values())) if isinstance(x, dict) else x).shape[0]
