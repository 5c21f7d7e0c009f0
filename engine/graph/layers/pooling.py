"""Pooling on channels-first inputs: Max/AveragePooling1D/2D/3D and the global poolings.

`same` average pooling counts only real elements, as Keras (TensorFlow) does.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .base import Layer, Shape, as_tuple
from .padding import SpatialPadding, check_padding
from .registry import LAYERS

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


class _Pooling(Layer):
    rank = 2
    kind = "max"

    def __init__(self, pool_size: int | list[int] = 2, strides: Optional[int | list[int]] = None,
                 padding: str = "valid"):
        super().__init__()
        self.pool_size = as_tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else as_tuple(strides, self.rank, "strides")
        self.padding = check_padding(padding)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != self.rank + 1:
            raise ValueError(f"expects channels-first inputs with {self.rank} spatial axes, "
                             f"got {list(input_shape)}")
        self.pad = SpatialPadding(self.padding, input_shape[1:], self.pool_size, self.strides,
                                  (1,) * self.rank)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "max":
            return _MAX[self.rank](self.pad.apply(x, float("-inf")), self.pool_size, self.strides,
                                   self.pad.symmetric)
        pad = self.pad.pad_for(x)
        if pad is None:
            return _AVG[self.rank](x, self.pool_size, self.strides, self.pad.symmetric,
                                   count_include_pad=False)
        # Asymmetric padding: average of the padded input / share of real elements per window.
        total = _AVG[self.rank](F.pad(x, pad), self.pool_size, self.strides)
        real = _AVG[self.rank](F.pad(torch.ones_like(x[:1, :1]), pad), self.pool_size, self.strides)
        return total / real


class _GlobalPooling(Layer):
    rank = 2
    kind = "max"

    def __init__(self, keepdims: bool = False):
        super().__init__()
        self.keepdims = keepdims

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != self.rank + 1:
            raise ValueError(f"expects channels-first inputs with {self.rank} spatial axes, "
                             f"got {list(input_shape)}")
        self.axes = tuple(range(2, 2 + self.rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "max":
            return x.amax(self.axes, keepdim=self.keepdims)
        return x.mean(self.axes, keepdim=self.keepdims)


for _rank in (1, 2, 3):
    for _kind, _name, _short in (("max", "Max", "Max"), ("avg", "Average", "Avg")):
        LAYERS.register(f"{_name}Pooling{_rank}D", f"{_short}Pool{_rank}D")(
            type(f"{_name}Pooling{_rank}D", (_Pooling,), {"rank": _rank, "kind": _kind}))
        LAYERS.register(f"Global{_name}Pooling{_rank}D", f"Global{_short}Pool{_rank}D")(
            type(f"Global{_name}Pooling{_rank}D", (_GlobalPooling,), {"rank": _rank, "kind": _kind}))
