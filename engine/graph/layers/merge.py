"""Layers that merge several inputs: Concatenate, Add, Subtract, Multiply, Average, Maximum,
Minimum, Dot. Shapes are checked when the graph is built, so a mismatch is a config error."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Layer, Shape
from .registry import LAYERS


def _fmt(shapes: list[Shape]) -> str:
    return ", ".join(str(list(s)) for s in shapes)


class _Merge(Layer):
    multi_input = True
    min_inputs = 2

    def build(self, input_shape: list[Shape]) -> None:
        if len(input_shape) < self.min_inputs:
            raise ValueError(f"needs at least {self.min_inputs} inputs, got {len(input_shape)}")


class _Elementwise(_Merge):
    """Inputs of equal shape (an axis of size 1 broadcasts, as in Keras)."""

    def build(self, input_shape: list[Shape]) -> None:
        super().build(input_shape)
        if len({len(s) for s in input_shape}) != 1:
            raise ValueError(f"inputs must have the same rank, got {_fmt(input_shape)}")
        for sizes in zip(*input_shape):
            known = {d for d in sizes if d not in (None, 1)}
            if len(known) > 1:
                raise ValueError(f"inputs must have the same shape, got {_fmt(input_shape)}")

    def combine(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = self.combine(out, x)
        return out


@LAYERS.register("Add")
class Add(_Elementwise):
    def combine(self, a, b):
        return a + b


@LAYERS.register("Multiply")
class Multiply(_Elementwise):
    def combine(self, a, b):
        return a * b


@LAYERS.register("Maximum")
class Maximum(_Elementwise):
    def combine(self, a, b):
        return torch.maximum(a, b)


@LAYERS.register("Minimum")
class Minimum(_Elementwise):
    def combine(self, a, b):
        return torch.minimum(a, b)


@LAYERS.register("Average")
class Average(Add):
    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return super().forward(xs) / len(xs)


@LAYERS.register("Subtract")
class Subtract(_Elementwise):
    def build(self, input_shape: list[Shape]) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"Subtract takes exactly 2 inputs, got {len(input_shape)}")
        super().build(input_shape)

    def combine(self, a, b):
        return a - b


@LAYERS.register("Concatenate")
class Concatenate(_Merge):
    """Joins along `axis` (batch axis = 0; default -1 as in Keras: for channels-first feature
    maps, concatenating channels is axis 1)."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = int(axis)

    def build(self, input_shape: list[Shape]) -> None:
        super().build(input_shape)
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise ValueError(f"inputs must have the same rank, got {_fmt(input_shape)}")
        rank = ranks.pop() + 1
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"axis {self.axis} is not a non-batch axis of {_fmt(input_shape)}")
        axis = self.axis % rank - 1
        for i, sizes in enumerate(zip(*input_shape)):
            if i != axis and len({d for d in sizes if d is not None}) > 1:
                raise ValueError(f"shapes {_fmt(input_shape)} differ on an axis other than the "
                                 f"concatenation axis {self.axis}")

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, dim=self.axis)


@LAYERS.register("Dot")
class Dot(_Merge):
    """Dot product of two inputs along `axes` (one int or one per input; batch axis = 0).
    Vectors [F] give [1]; sequences [A, F] . [B, F] over the last axes give [A, B]."""

    def __init__(self, axes: int | list[int], normalize: bool = False):
        super().__init__()
        self.axes = [axes, axes] if isinstance(axes, int) else [int(a) for a in axes]
        self.normalize = normalize

    def build(self, input_shape: list[Shape]) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"Dot takes exactly 2 inputs, got {len(input_shape)}")
        ranks = [len(s) for s in input_shape]
        if ranks[0] != ranks[1] or ranks[0] not in (1, 2):
            raise ValueError(f"Dot supports two inputs of rank 1 or 2, got {_fmt(input_shape)}")
        self.axes = [a % (ranks[0] + 1) for a in self.axes]
        if 0 in self.axes:
            raise ValueError("axes cannot include the batch axis 0")
        a, b = (input_shape[i][self.axes[i] - 1] for i in (0, 1))
        if a is not None and b is not None and a != b:
            raise ValueError(f"sizes along the dot axes differ: {_fmt(input_shape)} axes {self.axes}")

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        a, b = xs
        if self.normalize:
            a, b = F.normalize(a, dim=self.axes[0]), F.normalize(b, dim=self.axes[1])
        if a.dim() == 2:
            return (a * b).sum(1, keepdim=True)
        a = a if self.axes[0] == 2 else a.transpose(1, 2)
        b = b if self.axes[1] == 1 else b.transpose(1, 2)
        return torch.bmm(a, b)
