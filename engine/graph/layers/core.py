"""Core layers: Dense, Embedding, Activation, dropout and noise, reshaping, Rescaling and
Normalization."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn.functional as F

from ..activations import get_activation
from .base import Layer, Shape
from .registry import LAYERS


@LAYERS.register("Dense")
class Dense(Layer):
    """Applies to the last axis; the kernel is stored torch-style [units, inputs]."""

    def __init__(self, units: int, activation: Optional[str] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None):
        super().__init__()
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive int, got {units!r}")
        self.units, self.use_bias = units, use_bias
        self.activation = get_activation(activation)
        self.options = dict(kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
                            bias=(bias_initializer, bias_regularizer, bias_constraint))

    def build(self, input_shape: Shape) -> None:
        if not input_shape or input_shape[-1] is None:
            raise ValueError("Dense needs inputs whose last axis has a known size")
        init, reg, con = self.options["kernel"]
        self.add_weight("kernel", (self.units, input_shape[-1]), init, layout=(1, 0),
                        regularizer=reg, constraint=con)
        if self.use_bias:
            init, reg, con = self.options["bias"]
            self.add_weight("bias", (self.units,), init, regularizer=reg, constraint=con)
        else:
            self.bias = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(F.linear(x, self.kernel, self.bias))


@LAYERS.register("Embedding")
class Embedding(Layer):
    """Integer indices [T] -> vectors [T, output_dim]."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None):
        super().__init__()
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.options = (embeddings_initializer, embeddings_regularizer, embeddings_constraint)

    def build(self, input_shape: Shape) -> None:
        init, reg, con = self.options
        self.add_weight("embeddings", (self.input_dim, self.output_dim), init,
                        regularizer=reg, constraint=con)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.embedding(x.long(), self.embeddings)


@LAYERS.register("Activation")
class Activation(Layer):
    def __init__(self, activation: str):
        super().__init__()
        self.activation = get_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(x)


def _check_rate(rate: float) -> float:
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    return float(rate)


@LAYERS.register("Dropout")
class Dropout(Layer):
    def __init__(self, rate: float):
        super().__init__()
        self.rate = _check_rate(rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.rate, self.training)


class _SpatialDropout(Layer):
    """Drops whole channels (axis 1 of the channels-first layout)."""
    rank = 2

    def __init__(self, rate: float):
        super().__init__()
        self.rate = _check_rate(rate)
        self.drop = (F.dropout1d, F.dropout2d, F.dropout3d)[self.rank - 1]

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != self.rank + 1:
            raise ValueError(f"expects [channels, {self.rank} spatial axes], got {list(input_shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x, self.rate, self.training)


for _rank in (1, 2, 3):
    LAYERS.register(f"SpatialDropout{_rank}D")(
        type(f"SpatialDropout{_rank}D", (_SpatialDropout,), {"rank": _rank}))


@LAYERS.register("GaussianNoise")
class GaussianNoise(Layer):
    """Adds N(0, stddev) noise while training."""

    def __init__(self, stddev: float):
        super().__init__()
        self.stddev = float(stddev)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.stddev * torch.randn_like(x) if self.training else x


@LAYERS.register("GaussianDropout")
class GaussianDropout(Layer):
    """Multiplies by N(1, rate / (1 - rate)) noise while training."""

    def __init__(self, rate: float):
        super().__init__()
        self.stddev = math.sqrt(_check_rate(rate) / (1.0 - rate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1.0 + self.stddev * torch.randn_like(x)) if self.training else x


@LAYERS.register("Flatten")
class Flatten(Layer):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


@LAYERS.register("Reshape")
class Reshape(Layer):
    """`target_shape` excludes the batch axis; one entry may be -1."""

    def __init__(self, target_shape: list[int]):
        super().__init__()
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError("target_shape may hold at most one -1")

    def build(self, input_shape: Shape) -> None:
        if None in input_shape:
            return
        size, known = math.prod(input_shape), math.prod(d for d in self.target_shape if d != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise ValueError(f"cannot reshape {list(input_shape)} ({size} values) "
                             f"to {list(self.target_shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.target_shape)


@LAYERS.register("Permute")
class Permute(Layer):
    """`dims` numbers the non-batch axes from 1, as in Keras: [2, 1] swaps the two axes."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"dims must be a permutation of 1..{len(self.dims)}, got {list(dims)}")

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != len(self.dims):
            raise ValueError(f"dims {list(self.dims)} do not match input rank {len(input_shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *self.dims)


@LAYERS.register("RepeatVector")
class RepeatVector(Layer):
    """[F] -> [n, F]."""

    def __init__(self, n: int):
        super().__init__()
        self.n = int(n)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 1:
            raise ValueError(f"RepeatVector expects a vector [features], got {list(input_shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(-1, self.n, -1)


@LAYERS.register("Rescaling")
class Rescaling(Layer):
    def __init__(self, scale: float, offset: float = 0.0):
        super().__init__()
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.offset


@LAYERS.register("Normalization")
class Normalization(Layer):
    """(x - mean) / sqrt(variance) with given statistics, per index of `axis` (default 1: the
    channels / features axis of our channels-first layout). `invert` undoes it."""

    def __init__(self, mean: float | list[float], variance: float | list[float], axis: int = 1,
                 invert: bool = False):
        super().__init__()
        self.axis, self.invert = int(axis), invert
        self.stats = (mean, variance)

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape) + 1
        axis = self.axis % rank
        if axis == 0:
            raise ValueError("axis 0 is the batch axis")
        shape = [1] * rank
        shape[axis] = -1
        mean, variance = (torch.as_tensor(s, dtype=torch.float32).reshape(-1) for s in self.stats)
        size = input_shape[axis - 1]
        for values, what in ((mean, "mean"), (variance, "variance")):
            if values.numel() not in (1, size):
                raise ValueError(f"{what} has {values.numel()} values; axis {self.axis} has {size}")
        self.register_buffer("mean", mean.reshape(shape), persistent=False)
        self.register_buffer("std", variance.sqrt().clamp_min(1e-7).reshape(shape), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean if self.invert else (x - self.mean) / self.std
