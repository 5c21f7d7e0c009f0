"""Activation layers with arguments: ReLU, LeakyReLU, PReLU, ELU, Softmax."""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F

from .base import Layer, Shape
from .registry import LAYERS


@LAYERS.register("ReLU")
class ReLU(Layer):
    """Keras's relu: x >= threshold ? x : negative_slope * (x - threshold), capped at max_value."""

    def __init__(self, max_value: Optional[float] = None, negative_slope: float = 0.0,
                 threshold: float = 0.0):
        super().__init__()
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold
        self.plain = max_value is None and negative_slope == 0 and threshold == 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.plain:
            return torch.relu(x)
        y = torch.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        return y if self.max_value is None else y.clamp_max(self.max_value)


@LAYERS.register("LeakyReLU")
class LeakyReLU(Layer):
    def __init__(self, negative_slope: float = 0.3):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, self.negative_slope)


@LAYERS.register("PReLU")
class PReLU(Layer):
    """A learned slope per input element; `shared_axes` (numbered from 1) share one slope."""

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Optional[list[int]] = None):
        super().__init__()
        self.options = (alpha_initializer, alpha_regularizer, alpha_constraint)
        self.shared_axes = set(shared_axes or [])

    def build(self, input_shape: Shape) -> None:
        shape = tuple(1 if i + 1 in self.shared_axes else d for i, d in enumerate(input_shape))
        if None in shape:
            raise ValueError("variable-size axes must be listed in shared_axes")
        init, reg, con = self.options
        self.add_weight("alpha", shape, init, regularizer=reg, constraint=con)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) - self.alpha * torch.relu(-x)


@LAYERS.register("ELU")
class ELU(Layer):
    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(x, self.alpha)


@LAYERS.register("Softmax")
class Softmax(Layer):
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, self.axis)
