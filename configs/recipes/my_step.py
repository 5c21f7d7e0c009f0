"""A custom training step in one file (the README walkthrough): mean squared error plus an L1
penalty on the kernels, with the penalty logged on its own. Use it with
`recipe: {type: configs/recipes/my_step.py:MyStep, l1: 0.0001}`."""
from __future__ import annotations

import torch

from trainer.recipes import Recipe


class MyStep(Recipe):
    def __init__(self, models, optimizers, loss=None, metrics=None, l1: float = 1e-4):
        super().__init__(models, optimizers, loss, metrics)
        self.l1 = l1
        self.kernels = [p for p in self.model.parameters() if p.dim() >= 2]  # not the biases
        self.mse = self.tracker("loss")
        self.mae = self.tracker("mae")
        self.penalty = self.tracker("l1_penalty")

    def train_step(self, batch):
        x, y, _ = batch
        error = self.model(x) - y
        penalty = self.l1 * torch.stack([kernel.abs().sum() for kernel in self.kernels]).sum()
        loss = torch.mean(error ** 2) + penalty
        self.minimize(loss, self.optimizer)
        self.mse.update_state(loss)
        self.mae.update_state(error.abs())
        self.penalty.update_state(penalty)
        return self.tracker_logs()

    def test_step(self, batch):
        x, y, _ = batch
        error = self.model(x) - y
        self.mse.update_state(torch.mean(error ** 2))
        self.mae.update_state(error.abs())
        return {"loss": self.mse.result(), "mae": self.mae.result()}

    def predict_step(self, batch):
        return self.model(batch.x)
