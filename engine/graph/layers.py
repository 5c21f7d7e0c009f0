"""The layer catalogue: Keras names and arguments -> torch modules built for a known input shape.

Each entry is a `Layer` subclass registered under its Keras name. The graph builder creates it
from the YAML arguments, then calls `build(input_shape)` once (shapes exclude the batch axis,
channels-first), so nobody writes `in_features`.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn

from ..registry import Registry
from .activations import get_activation
from .initializers import get_initializer

LAYERS = Registry("layer")
Shape = tuple[Optional[int], ...]


class Layer(nn.Module):
    """Base of catalogue layers. Subclasses create weights in `build`."""

    #: True for layers that take a list of inputs (Concatenate, Add, ...).
    multi_input = False

    def __init__(self, name: str | None = None):
        super().__init__()
        self.layer_name = name
        self.built = False

    def build(self, input_shape: Shape | list[Shape]) -> None:
        self.built = True


@LAYERS.register("Dense")
class Dense(Layer):
    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 name: str | None = None):
        super().__init__(name)
        if int(units) <= 0:
            raise ValueError(f"units must be positive, got {units}")
        self.units = int(units)
        self.activation = get_activation(activation)
        self.use_bias = use_bias
        self.kernel_initializer = get_initializer(kernel_initializer)
        self.bias_initializer = get_initializer(bias_initializer)

    def build(self, input_shape: Shape) -> None:
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError("Dense needs a known last axis")
        self.linear = nn.Linear(in_features, self.units, bias=self.use_bias)
        # Keras kernels are [in, out]; torch's Linear weight is [out, in]: initialise the Keras way.
        with torch.no_grad():
            kernel = torch.empty(in_features, self.units)
            self.kernel_initializer(kernel)
            self.linear.weight.copy_(kernel.T)
            if self.use_bias:
                self.bias_initializer(self.linear.bias)
        super().build(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))


@LAYERS.register("Activation")
class Activation(Layer):
    def __init__(self, activation: str, name: str | None = None):
        super().__init__(name)
        self.activation = get_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(x)


@LAYERS.register("Dropout")
class Dropout(Layer):
    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name)
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.dropout = nn.Dropout(rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x)


@LAYERS.register("Flatten")
class Flatten(Layer):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


@LAYERS.register("Reshape")
class Reshape(Layer):
    def __init__(self, target_shape: list[int], name: str | None = None):
        super().__init__(name)
        self.target_shape = tuple(int(d) for d in target_shape)

    def build(self, input_shape: Shape) -> None:
        if None not in input_shape and -1 not in self.target_shape:
            if math.prod(input_shape) != math.prod(self.target_shape):
                raise ValueError(f"cannot reshape {list(input_shape)} to {list(self.target_shape)}")
        super().build(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.target_shape)


@LAYERS.register("Concatenate")
class Concatenate(Layer):
    multi_input = True

    def __init__(self, axis: int = -1, name: str | None = None):
        super().__init__(name)
        self.axis = axis

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, dim=self.axis)
