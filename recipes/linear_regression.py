"""`recipe: linear_regression`: the TensorFlow guide's basic training loop.

The model is y = W x + b (a Dense(1) on one feature); each step computes the mean squared
error, takes a gradient step with the configured optimizer (the guide: plain gradient descent,
learning rate 0.1, the whole data set as one batch) and logs `loss`, `W` and `b`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from trainer.engine.errors import ConfigError

from trainer.engine.recipe import Recipe


class LinearRegression(Recipe):
    needs_targets = True

    def __init__(self, models, optimizers, loss=None, metrics=None):
        super().__init__(models, optimizers, loss, metrics)
        params = list(self.model.parameters())
        if len(params) != 2 or any(p.numel() != 1 for p in params):
            raise ConfigError("the linear_regression recipe needs a model with one weight and "
                              "one bias (a Dense layer with 1 unit on 1 feature)", "model")
        self.w, self.b = params
        self.mse = self.tracker("loss")

    def train_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        x, y, _ = batch
        loss = torch.mean(torch.square(y - self.model(x)))
        self.minimize(loss, self.optimizer)
        self.mse.update_state(loss)
        return {"loss": self.mse.result(), "W": self.w.detach().reshape(()),
                "b": self.b.detach().reshape(())}
