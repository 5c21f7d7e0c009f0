"""`recipe: reconstructing_regressor`: Hands-on ML (ch. 12)'s regressor with an auxiliary
reconstruction loss.

The model has two outputs: the prediction and a reconstruction of its inputs (a Dense layer on
the last hidden layer, as wide as the input). The step minimises
`loss = main loss + reconstruction_weight * mean((reconstruction - inputs)^2)` and logs `loss`,
`<main output>_loss` and `reconstruction_loss` (unweighted), plus any `compile.metrics`. The data
supplies targets for the main output only (the reconstruction's target is the input).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from trainer.engine.errors import ConfigError

from trainer.engine.recipe import Recipe


RECONSTRUCTION = "reconstruction"  # the default name of the reconstruction output


class ReconstructingRegressor(Recipe):
    needs_targets = True

    def __init__(self, models, optimizers, loss=None, metrics=None,
                 reconstruction_output: str = RECONSTRUCTION, reconstruction_weight: float = 0.05):
        super().__init__(models, optimizers, loss, metrics)
        outputs = self.model.output_names
        if len(outputs) != 2 or reconstruction_output not in outputs:
            raise ConfigError(f"the model needs two outputs, the prediction and "
                              f"'{reconstruction_output}'; it has {', '.join(outputs)}", "model.outputs")
        inputs = list(self.model.input_shapes.values())
        if len(inputs) != 1 or tuple(inputs[0]) != tuple(self.model.output_shapes[reconstruction_output]):
            raise ConfigError(f"'{reconstruction_output}' must have the shape of the model's one "
                              f"input {list(inputs[0])}", "model.outputs")
        self.main_output = next(o for o in outputs if o != reconstruction_output)
        if loss is None or self.main_output not in loss.losses:
            raise ConfigError(f"give a loss for the output '{self.main_output}' "
                              f"(compile.loss: {{{self.main_output}: mse}})", "compile.loss")
        self.reconstruction_output = reconstruction_output
        self.reconstruction_weight = reconstruction_weight

    @classmethod
    def target_outputs(cls, output_names: list[str], options: dict[str, Any]) -> list[str]:
        reconstruction = options.get("reconstruction_output", RECONSTRUCTION)
        return [o for o in output_names if o != reconstruction] or list(output_names)

    @classmethod
    def logged_losses(cls, output_names: list[str], loss: Any, options: dict[str, Any]) -> list[str]:
        return list(output_names)

    def losses(self, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor], Any, Any]:
        """(total, parts, targets, outputs) of one batch."""
        x, y, sample_weight = batch
        outputs = self.model(x)
        main_loss = self.loss.losses[self.main_output](y, outputs[self.main_output], sample_weight)
        reconstruction_loss = torch.mean(torch.square(outputs[self.reconstruction_output] - x))
        total = main_loss + self.reconstruction_weight * reconstruction_loss
        parts = {self.main_output: main_loss, self.reconstruction_output: reconstruction_loss}
        targets = {self.main_output: y, self.reconstruction_output: x}
        return total, parts, targets, outputs

    def train_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        total, parts, targets, outputs = self.losses(batch)
        self.minimize(total, self.optimizer)
        return self.record(batch, total, parts, targets, outputs)

    def test_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        return self.record(batch, *self.losses(batch))

    def predict_step(self, batch: Any) -> Any:
        return self.model(batch.x)[self.main_output]

    def record(self, batch: Any, total, parts, targets, outputs) -> Mapping[str, torch.Tensor]:
        self.metrics.update(targets, outputs, batch.sample_weight, total, parts, batch.x.shape[0])
        return self.metrics.logs()
