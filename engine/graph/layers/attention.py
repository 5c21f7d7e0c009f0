"""MultiHeadAttention with Keras's arguments and weights on [time, features] inputs.

Inputs (in the node's `inputs` order): query, value, and optionally key; a single input
is self-attention. Keras's projection kernels are [features, heads, key_dim] and the output
kernel [heads, value_dim, features]; weights are stored in that layout.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F

from .base import Layer, Shape
from .registry import LAYERS


@LAYERS.register("MultiHeadAttention")
class MultiHeadAttention(Layer):
    multi_input = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: Optional[int] = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Optional[int] = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None):
        super().__init__()
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim or key_dim)
        self.dropout, self.use_bias, self.output_dim = float(dropout), use_bias, output_shape
        self.kernel_options = (kernel_initializer, kernel_regularizer, kernel_constraint)
        self.bias_options = (bias_initializer, bias_regularizer, bias_constraint)

    def build(self, input_shape: list[Shape]) -> None:
        if not 1 <= len(input_shape) <= 3:
            raise ValueError(f"takes 1 to 3 inputs (query, value, key), got {len(input_shape)}")
        for shape in input_shape:
            if len(shape) != 2 or shape[1] is None:
                raise ValueError(f"expects [time, features] inputs, got {list(shape)}")
        query, value = input_shape[0], input_shape[min(1, len(input_shape) - 1)]
        key = input_shape[2] if len(input_shape) == 3 else value
        if key[0] is not None and value[0] is not None and key[0] != value[0]:
            raise ValueError(f"key {list(key)} and value {list(value)} need the same length")
        heads, out_dim = self.num_heads, self.output_dim or query[1]
        for name, features, size in (("query", query[1], self.key_dim), ("key", key[1], self.key_dim),
                                     ("value", value[1], self.value_dim)):
            self._projection(f"{name}_kernel", f"{name}_bias", (features, heads, size),
                             (features, heads * size), (heads, size))
        self._projection("output_kernel", "output_bias", (heads, self.value_dim, out_dim),
                         (heads * self.value_dim, out_dim), (out_dim,))

    def _projection(self, kernel: str, bias: str, shape: tuple, fans: tuple, bias_shape: tuple) -> None:
        init, reg, con = self.kernel_options
        self.add_weight(kernel, shape, init, fans=fans, regularizer=reg, constraint=con,
                        argument="kernel")
        if self.use_bias:
            init, reg, con = self.bias_options
            self.add_weight(bias, bias_shape, init, regularizer=reg, constraint=con,
                            argument="bias")
        else:
            setattr(self, bias, None)

    def _heads(self, x: torch.Tensor, kernel: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        y = x @ kernel.flatten(1)
        if bias is not None:
            y = y + bias.flatten()
        return y.unflatten(-1, kernel.shape[1:]).transpose(1, 2)  # [N, heads, T, size]

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        query, value = xs[0], xs[min(1, len(xs) - 1)]
        key = xs[2] if len(xs) == 3 else value
        q = self._heads(query, self.query_kernel, self.query_bias)
        k = self._heads(key, self.key_kernel, self.key_bias)
        v = self._heads(value, self.value_kernel, self.value_bias)
        attended = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0)
        out = attended.transpose(1, 2).flatten(2) @ self.output_kernel.flatten(0, 1)
        return out + self.output_bias if self.output_bias is not None else out
