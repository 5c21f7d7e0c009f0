"""Recurrent layers LSTM, GRU, SimpleRNN on [time, features] inputs (batch-first, like Keras and
torch's batch_first), run by torch's fused kernels, with Keras's weights and parameter counts.

Keras has one bias per LSTM/SimpleRNN (torch two): the second torch bias is a fixed zero
buffer. Keras's GRU default (reset_after=True) has both, like torch. Kernels start
glorot_uniform, recurrent kernels orthogonal, LSTM forget-gate biases at 1 (unit_forget_bias).
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F

from .base import Layer, Shape, only_value
from .registry import LAYERS


class _Recurrent(Layer):
    gates = 1
    cell = "rnn_tanh"

    def _setup(self, units: int, use_bias: bool, dropout: float, return_sequences: bool,
               go_backwards: bool, options: dict[str, tuple]) -> None:
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive int, got {units!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.units, self.use_bias, self.dropout = units, use_bias, float(dropout)
        self.return_sequences, self.go_backwards = return_sequences, go_backwards
        self.options = options

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 2 or input_shape[1] is None:
            raise ValueError(f"expects [time, features] with known features, got {list(input_shape)}")
        rows = self.gates * self.units
        init, reg, con = self.options["kernel"]
        self.add_weight("kernel", (rows, input_shape[1]), init, layout=(1, 0),
                        regularizer=reg, constraint=con)
        init, reg, con = self.options["recurrent"]
        self.add_weight("recurrent_kernel", (rows, self.units), init, layout=(1, 0),
                        regularizer=reg, constraint=con)
        self.weights_for_torch = ["kernel", "recurrent_kernel"]
        if self.use_bias:
            self._add_biases(rows)

    def _add_biases(self, rows: int) -> None:
        init, reg, con = self.options["bias"]
        self.add_weight("bias", (rows,), init, regularizer=reg, constraint=con)
        self.register_buffer("recurrent_bias", torch.zeros(rows), persistent=False)
        self.weights_for_torch += ["bias", "recurrent_bias"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.go_backwards:
            x = x.flip(1)
        if self.dropout and self.training:  # one mask per sequence, as Keras
            x = x * F.dropout(x.new_ones(x.shape[0], 1, x.shape[2]), self.dropout)
        h0 = x.new_zeros(1, x.shape[0], self.units)
        weights = [getattr(self, name) for name in self.weights_for_torch]
        fused = getattr(torch, self.cell)
        hx = (h0, h0) if self.cell == "lstm" else h0
        out = fused(x, hx, weights, self.use_bias, 1, 0.0, self.training, False, True)[0]
        return out if self.return_sequences else out[:, -1]


def _options(kernel, recurrent, bias) -> dict[str, tuple]:
    return {"kernel": kernel, "recurrent": recurrent, "bias": bias}


@LAYERS.register("LSTM")
class LSTM(_Recurrent):
    gates, cell = 4, "lstm"

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 return_sequences: bool = False, go_backwards: bool = False):
        super().__init__()
        only_value("activation", activation, "tanh", "the fused LSTM kernel")
        only_value("recurrent_activation", recurrent_activation, "sigmoid", "the fused LSTM kernel")
        self._setup(units, use_bias, dropout, return_sequences, go_backwards, _options(
            (kernel_initializer, kernel_regularizer, kernel_constraint),
            (recurrent_initializer, recurrent_regularizer, recurrent_constraint),
            (bias_initializer, bias_regularizer, bias_constraint)))
        self.unit_forget_bias = unit_forget_bias

    def _add_biases(self, rows: int) -> None:
        super()._add_biases(rows)
        if self.unit_forget_bias:  # gate order i, f, c, o in both Keras and torch
            with torch.no_grad():
                self.bias[self.units:2 * self.units] = 1.0


@LAYERS.register("GRU")
class GRU(_Recurrent):
    """Keras's reset_after=True GRU (torch's formulation); gates are stored in torch's order."""
    gates, cell = 3, "gru"

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, return_sequences: bool = False, go_backwards: bool = False,
                 reset_after: bool = True):
        super().__init__()
        only_value("activation", activation, "tanh", "the fused GRU kernel")
        only_value("recurrent_activation", recurrent_activation, "sigmoid", "the fused GRU kernel")
        only_value("reset_after", reset_after, True, "the fused GRU kernel")
        self._setup(units, use_bias, dropout, return_sequences, go_backwards, _options(
            (kernel_initializer, kernel_regularizer, kernel_constraint),
            (recurrent_initializer, recurrent_regularizer, recurrent_constraint),
            (bias_initializer, bias_regularizer, bias_constraint)))

    def _add_biases(self, rows: int) -> None:
        init, reg, con = self.options["bias"]
        self.add_weight("bias", (rows,), init, regularizer=reg, constraint=con)
        self.add_weight("recurrent_bias", (rows,), init, regularizer=reg, constraint=con,
                        argument="bias")
        self.weights_for_torch += ["bias", "recurrent_bias"]


@LAYERS.register("SimpleRNN")
class SimpleRNN(_Recurrent):
    def __init__(self, units: int, activation: Optional[str] = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, return_sequences: bool = False, go_backwards: bool = False):
        super().__init__()
        if activation not in ("tanh", "relu"):
            raise ValueError(f"SimpleRNN supports activation tanh or relu, got '{activation}'")
        self.cell = f"rnn_{activation}"
        self._setup(units, use_bias, dropout, return_sequences, go_backwards, _options(
            (kernel_initializer, kernel_regularizer, kernel_constraint),
            (recurrent_initializer, recurrent_regularizer, recurrent_constraint),
            (bias_initializer, bias_regularizer, bias_constraint)))


@LAYERS.register("Bidirectional")
class Bidirectional(Layer):
    """Runs `layer` (a recurrent layer spec) forwards and a copy backwards; merge_mode
    concat | sum | mul | ave."""

    def __init__(self, layer: Any, merge_mode: str = "concat", backward_layer: Any = None):
        super().__init__()
        if merge_mode not in ("concat", "sum", "mul", "ave"):
            raise ValueError(f"merge_mode must be concat, sum, mul or ave, got '{merge_mode}'")
        self.merge_mode = merge_mode
        self.forward_layer = LAYERS.build(layer, "layer")
        backward = backward_layer if backward_layer is not None else layer
        if isinstance(backward, str):
            backward = {"type": backward}
        self.backward_layer = LAYERS.build({**backward, "go_backwards": True}, "backward_layer")
        for sub in (self.forward_layer, self.backward_layer):
            if not isinstance(sub, _Recurrent):
                raise ValueError("Bidirectional wraps LSTM, GRU or SimpleRNN")
        if self.forward_layer.return_sequences != self.backward_layer.return_sequences:
            raise ValueError("forward and backward layers must agree on return_sequences")

    def build(self, input_shape: Shape) -> None:
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.forward_layer(x), self.backward_layer(x)
        if self.forward_layer.return_sequences:
            b = b.flip(1)
        if self.merge_mode == "concat":
            return torch.cat([a, b], dim=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        return (a + b) / 2
