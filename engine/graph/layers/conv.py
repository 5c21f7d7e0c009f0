"""Convolutions with Keras arguments on channels-first inputs: Conv1D/2D/3D, their transposes,
DepthwiseConv2D and SeparableConv2D.

Keras kernels are [*kernel_size, in, out]; torch's are [out, in, *kernel_size]. Weights are
stored torch-style and declare their Keras layout, so initialiser fans and constraint axes
are Keras's.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F

from ..activations import get_activation
from .base import Layer, Shape, as_tuple
from .padding import SpatialPadding, check_padding
from .registry import LAYERS

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class _ConvBase(Layer):
    """What every convolution shares: geometry, activation, bias, input checks."""
    rank = 2

    def _setup(self, kernel_size: Any, strides: Any, padding: str, dilation_rate: Any,
               activation: Optional[str], use_bias: bool, bias_options: tuple,
               paddings: tuple[str, ...] = ("valid", "same")) -> None:
        self.kernel_size = as_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = as_tuple(strides, self.rank, "strides")
        self.dilation_rate = as_tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = check_padding(padding, paddings)
        self.activation = get_activation(activation)
        self.use_bias = use_bias
        self.bias_options = bias_options

    def _channels(self, input_shape: Shape) -> int:
        if len(input_shape) != self.rank + 1:
            axes = ", ".join(["channels"] + [f"d{i + 1}" for i in range(self.rank)])
            raise ValueError(f"expects channels-first inputs [{axes}], got {list(input_shape)}")
        if input_shape[0] is None:
            raise ValueError("the channels axis must have a known size")
        return input_shape[0]

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            init, reg, con = self.bias_options
            self.add_weight("bias", (size,), init, regularizer=reg, constraint=con)
        else:
            self.bias = None

    def _plan_padding(self, input_shape: Shape) -> None:
        self.pad = SpatialPadding(self.padding, input_shape[1:], self.kernel_size, self.strides,
                                  self.dilation_rate)


class _Conv(_ConvBase):
    def __init__(self, filters: int, kernel_size: int | list[int], strides: int | list[int] = 1,
                 padding: str = "valid", dilation_rate: int | list[int] = 1, groups: int = 1,
                 activation: Optional[str] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None):
        super().__init__()
        paddings = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self._setup(kernel_size, strides, padding, dilation_rate, activation, use_bias,
                    (bias_initializer, bias_regularizer, bias_constraint), paddings)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("strides > 1 cannot be combined with dilation_rate > 1")
        self.filters, self.groups = int(filters), int(groups)
        self.kernel_options = (kernel_initializer, kernel_regularizer, kernel_constraint)
        self.conv = _CONV[self.rank]

    def build(self, input_shape: Shape) -> None:
        channels = self._channels(input_shape)
        if channels % self.groups or self.filters % self.groups:
            raise ValueError(f"groups={self.groups} must divide the input channels ({channels}) "
                             f"and filters ({self.filters})")
        init, reg, con = self.kernel_options
        spatial = tuple(range(2, 2 + self.rank))
        self.add_weight("kernel", (self.filters, channels // self.groups, *self.kernel_size), init,
                        layout=(*spatial, 1, 0), regularizer=reg, constraint=con)
        self._add_bias(self.filters)
        self._plan_padding(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pad.apply(x)
        return self.activation(self.conv(x, self.kernel, self.bias, self.strides,
                                         self.pad.symmetric, self.dilation_rate, self.groups))


class _ConvTranspose(_ConvBase):
    """Output size as Keras: `same` gives size * stride; `valid` size * stride + max(k - stride, 0)."""

    def __init__(self, filters: int, kernel_size: int | list[int], strides: int | list[int] = 1,
                 padding: str = "valid", dilation_rate: int | list[int] = 1,
                 activation: Optional[str] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None):
        super().__init__()
        self._setup(kernel_size, strides, padding, dilation_rate, activation, use_bias,
                    (bias_initializer, bias_regularizer, bias_constraint))
        self.filters = int(filters)
        self.kernel_options = (kernel_initializer, kernel_regularizer, kernel_constraint)
        self.conv = _CONV_TRANSPOSE[self.rank]
        # torch gives (n - 1) * s + k_eff; extend by output_padding then crop to Keras's size.
        self.output_padding, crops = [], []
        for k, s, d in zip(self.kernel_size, self.strides, self.dilation_rate):
            k_eff = (k - 1) * d + 1
            self.output_padding.append(max(s - k_eff, 0))
            excess = max(k_eff - s, 0) if self.padding == "same" else 0
            crops.append(slice(excess // 2, (excess // 2 - excess) or None))
        self.crop = (slice(None), slice(None), *crops)
        self.output_padding = tuple(self.output_padding)

    def build(self, input_shape: Shape) -> None:
        channels = self._channels(input_shape)
        init, reg, con = self.kernel_options
        spatial = tuple(range(2, 2 + self.rank))
        # torch [in, out, *k]; Keras [*k, out, in]
        self.add_weight("kernel", (channels, self.filters, *self.kernel_size), init,
                        layout=(*spatial, 1, 0), regularizer=reg, constraint=con)
        self._add_bias(self.filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x, self.kernel, self.bias, self.strides, 0, self.output_padding, 1,
                      self.dilation_rate)
        return self.activation(y[self.crop])


for _rank in (1, 2, 3):
    LAYERS.register(f"Conv{_rank}D", f"Convolution{_rank}D")(
        type(f"Conv{_rank}D", (_Conv,), {"rank": _rank}))
    LAYERS.register(f"Conv{_rank}DTranspose", f"Convolution{_rank}DTranspose")(
        type(f"Conv{_rank}DTranspose", (_ConvTranspose,), {"rank": _rank}))


class _DepthwiseKernel(_ConvBase):
    """A depthwise kernel stored [in, multiplier, *k] (Keras [*k, in, multiplier])."""

    def _add_depthwise(self, channels: int, multiplier: int, options: tuple) -> None:
        init, reg, con = options
        self.add_weight("depthwise_kernel", (channels, multiplier, *self.kernel_size), init,
                        layout=(2, 3, 0, 1), regularizer=reg, constraint=con,
                        argument="depthwise")

    def _depthwise(self, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        x = self.pad.apply(x)
        kernel = self.depthwise_kernel.flatten(0, 1).unsqueeze(1)
        return F.conv2d(x, kernel, bias, self.strides, self.pad.symmetric, self.dilation_rate,
                        self.depthwise_kernel.shape[0])


@LAYERS.register("DepthwiseConv2D")
class DepthwiseConv2D(_DepthwiseKernel):
    def __init__(self, kernel_size: int | list[int], strides: int | list[int] = 1,
                 padding: str = "valid", depth_multiplier: int = 1,
                 dilation_rate: int | list[int] = 1, activation: Optional[str] = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None,
                 bias_regularizer: Any = None, depthwise_constraint: Any = None,
                 bias_constraint: Any = None):
        super().__init__()
        self._setup(kernel_size, strides, padding, dilation_rate, activation, use_bias,
                    (bias_initializer, bias_regularizer, bias_constraint))
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_options = (depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def build(self, input_shape: Shape) -> None:
        channels = self._channels(input_shape)
        self._add_depthwise(channels, self.depth_multiplier, self.depthwise_options)
        self._add_bias(channels * self.depth_multiplier)
        self._plan_padding(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self._depthwise(x, self.bias))


@LAYERS.register("SeparableConv2D", "SeparableConvolution2D")
class SeparableConv2D(_DepthwiseKernel):
    def __init__(self, filters: int, kernel_size: int | list[int], strides: int | list[int] = 1,
                 padding: str = "valid", dilation_rate: int | list[int] = 1,
                 depth_multiplier: int = 1, activation: Optional[str] = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None):
        super().__init__()
        self._setup(kernel_size, strides, padding, dilation_rate, activation, use_bias,
                    (bias_initializer, bias_regularizer, bias_constraint))
        self.filters, self.depth_multiplier = int(filters), int(depth_multiplier)
        self.depthwise_options = (depthwise_initializer, depthwise_regularizer, depthwise_constraint)
        self.pointwise_options = (pointwise_initializer, pointwise_regularizer, pointwise_constraint)

    def build(self, input_shape: Shape) -> None:
        channels = self._channels(input_shape)
        self._add_depthwise(channels, self.depth_multiplier, self.depthwise_options)
        init, reg, con = self.pointwise_options
        self.add_weight("pointwise_kernel", (self.filters, channels * self.depth_multiplier, 1, 1),
                        init, layout=(2, 3, 1, 0), regularizer=reg, constraint=con,
                        argument="pointwise")
        self._add_bias(self.filters)
        self._plan_padding(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(F.conv2d(self._depthwise(x, None), self.pointwise_kernel, self.bias))
