"""BatchNormalization, LayerNormalization and GroupNormalization with Keras defaults
(epsilon 1e-3, BatchNormalization momentum 0.99 = torch momentum 0.01).

`axis` counts the batch axis as 0, as in Keras. BatchNormalization and GroupNormalization
default to axis 1, the channels axis of our channels-first layout (Keras's -1 is its
channels-last channels axis); LayerNormalization keeps Keras's -1 (the features axis).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..initializers import get_initializer
from .base import Layer, Shape
from .registry import LAYERS


class _ScaleShift(Layer):
    """gamma/beta weights of `size` values, each optional (scale/center)."""

    def _setup(self, epsilon: float, center: bool, scale: bool, beta: tuple, gamma: tuple) -> None:
        self.epsilon, self.center, self.scale = float(epsilon), center, scale
        self.options = {"beta": beta, "gamma": gamma}

    def _add_scale_shift(self, shape: tuple[int, ...]) -> None:
        for name, wanted in (("gamma", self.scale), ("beta", self.center)):
            if wanted:
                init, reg, con = self.options[name]
                self.add_weight(name, shape, init, regularizer=reg, constraint=con)
            else:
                setattr(self, name, None)


def _axis_size(input_shape: Shape, axis: int) -> tuple[int, int]:
    """(axis counted with the batch axis as 0, its size); the size must be known."""
    rank = len(input_shape) + 1
    if not -rank <= axis < rank or axis % rank == 0:
        raise ValueError(f"axis {axis} is not a non-batch axis of inputs {list(input_shape)}")
    axis %= rank
    size = input_shape[axis - 1]
    if size is None:
        raise ValueError(f"axis {axis} must have a known size")
    return axis, size


@LAYERS.register("BatchNormalization")
class BatchNormalization(_ScaleShift):
    """Moving statistics update like torch's (unbiased batch variance); Keras uses the biased one."""

    def __init__(self, axis: int = 1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None):
        super().__init__()
        self._setup(epsilon, center, scale, (beta_initializer, beta_regularizer, beta_constraint),
                    (gamma_initializer, gamma_regularizer, gamma_constraint))
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.axis, self.torch_momentum = int(axis), 1.0 - float(momentum)
        self.moving_initializers = (moving_mean_initializer, moving_variance_initializer)

    def build(self, input_shape: Shape) -> None:
        self.axis, size = _axis_size(input_shape, self.axis)
        self._add_scale_shift((size,))
        for name, init in zip(("moving_mean", "moving_variance"), self.moving_initializers):
            buffer = torch.empty(size)
            get_initializer(init, f"{name}_initializer")(buffer, size, size)
            self.register_buffer(name, buffer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.axis != 1:
            x = x.movedim(self.axis, 1)
        y = F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                         self.training, self.torch_momentum, self.epsilon)
        return y.movedim(1, self.axis) if self.axis != 1 else y


@LAYERS.register("LayerNormalization")
class LayerNormalization(_ScaleShift):
    """Normalises each sample over `axis` (an int or list; default the last axis)."""

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None):
        super().__init__()
        self._setup(epsilon, center, scale, (beta_initializer, beta_regularizer, beta_constraint),
                    (gamma_initializer, gamma_regularizer, gamma_constraint))
        self.axis = [axis] if isinstance(axis, int) else list(axis)

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape) + 1
        axes_sizes = sorted(_axis_size(input_shape, a) for a in self.axis)
        self.axes = tuple(a for a, _ in axes_sizes)
        # Trailing axes use the fused layer_norm; others broadcast gamma/beta over the rest.
        self.trailing = self.axes == tuple(range(rank - len(self.axes), rank))
        self.normalized_shape = tuple(size for _, size in axes_sizes)
        weight_shape = self.normalized_shape if self.trailing else tuple(
            input_shape[i - 1] if i in self.axes else 1 for i in range(1, rank))
        self._add_scale_shift(weight_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.trailing:
            return F.layer_norm(x, self.normalized_shape, self.gamma, self.beta, self.epsilon)
        var, mean = torch.var_mean(x, self.axes, correction=0, keepdim=True)
        y = (x - mean) * torch.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma
        return y + self.beta if self.beta is not None else y


@LAYERS.register("GroupNormalization")
class GroupNormalization(_ScaleShift):
    """Normalises groups of channels; only the channels axis 1 (our layout) is supported."""

    def __init__(self, groups: int = 32, axis: int = 1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None):
        super().__init__()
        self._setup(epsilon, center, scale, (beta_initializer, beta_regularizer, beta_constraint),
                    (gamma_initializer, gamma_regularizer, gamma_constraint))
        if axis != 1:
            raise ValueError("GroupNormalization groups the channels axis 1 (channels-first)")
        self.groups = int(groups)

    def build(self, input_shape: Shape) -> None:
        _, channels = _axis_size(input_shape, 1)
        if channels % self.groups:
            raise ValueError(f"groups={self.groups} must divide the {channels} channels")
        self._add_scale_shift((channels,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.groups, self.gamma, self.beta, self.epsilon)
