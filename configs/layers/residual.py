"""A user layer for configs/residual_regressor.yaml: x + Dense(relu(Dense(x))), sized from the
input shape trainer infers (a plain torch module with an `input_shape` argument)."""
from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, input_shape: tuple[int, ...], hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        features = input_shape[-1]
        self.inner = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Dropout(dropout),
                                   nn.Linear(hidden, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.inner(x)
