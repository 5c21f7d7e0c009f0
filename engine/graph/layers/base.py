"""The `Layer` base: lazily built torch modules whose weights carry Keras's initialisation
(fans from the Keras kernel layout), regularisers and constraints.

Shapes exclude the batch axis and are channels-first; None marks a variable axis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch
from torch import nn

from ..added_losses import add_loss
from ..constraints import get_constraint
from ..functions import bind_layout
from ..initializers import get_initializer
from ..regularizers import get_regularizer

Shape = tuple[Optional[int], ...]


@dataclass(frozen=True)
class WeightRule:
    """A weight's regulariser and constraint; `layout[k]` is the torch dim of Keras axis k."""
    name: str
    regularizer: Any
    constraint: Any
    layout: tuple[int, ...]


def keras_fans(keras_shape: Sequence[int]) -> tuple[int, int]:
    """Keras's fan_in/fan_out: kernels are [..., inputs, outputs] with a receptive field in front."""
    if len(keras_shape) == 0:
        return 1, 1
    if len(keras_shape) == 1:
        return keras_shape[0], keras_shape[0]
    receptive = math.prod(keras_shape[:-2])
    return keras_shape[-2] * receptive, keras_shape[-1] * receptive


class Layer(nn.Module):
    """Base of catalogue layers: constructed from YAML arguments, then `build(input_shape)` once
    (a list of shapes for `multi_input` layers) creates the weights."""

    #: True for layers that take a list of inputs (Concatenate, Add, MultiHeadAttention, ...).
    multi_input = False

    def __init__(self) -> None:
        super().__init__()
        self.weight_rules: list[WeightRule] = []

    def build(self, input_shape: Any) -> None:
        """Create weights for this input shape (default: none)."""

    def add_loss(self, value: torch.Tensor) -> None:
        """Keras's `add_loss`: add `sum(value)` to the loss of this forward (see added_losses)."""
        add_loss(value)

    def add_weight(self, name: str, shape: Sequence[int], initializer: Any, *,
                   layout: Sequence[int] | None = None, fans: tuple[int, int] | None = None,
                   regularizer: Any = None, constraint: Any = None, argument: str | None = None,
                   trainable: bool = True) -> nn.Parameter:
        """A parameter of torch `shape`; `layout` maps Keras axes to torch dims (identity by
        default) so fans and constraint axes follow Keras; `argument` names the YAML argument
        prefix for error messages (`kernel` for kernel_initializer, ...)."""
        argument = argument or name
        layout = tuple(layout) if layout is not None else tuple(range(len(shape)))
        fan_in, fan_out = fans or keras_fans([shape[d] for d in layout])
        param = nn.Parameter(torch.empty(tuple(shape)), requires_grad=trainable)
        with torch.no_grad():
            init = bind_layout(get_initializer(initializer, f"{argument}_initializer"), layout)
            init(param, fan_in, fan_out)
        self.register_parameter(name, param)
        regularizer = bind_layout(get_regularizer(regularizer, f"{argument}_regularizer"), layout)
        constraint = get_constraint(constraint, f"{argument}_constraint")
        if regularizer is not None or constraint is not None:
            self.weight_rules.append(WeightRule(name, regularizer, constraint, layout))
        return param


def as_tuple(value: int | Sequence[int], rank: int, argument: str) -> tuple[int, ...]:
    """Keras's `kernel_size: 3` or `[3, 3]` -> a tuple of `rank` ints."""
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"{argument} must be a positive int or a list of {rank} positive ints, "
                         f"got {value!r}")
    return values


def check_rank(input_shape: Shape, rank: int, layer: str, layout: str) -> None:
    if len(input_shape) != rank:
        raise ValueError(f"{layer} expects inputs of rank {rank} ({layout}), got {list(input_shape)}")


def only_value(argument: str, value: Any, supported: Any, reason: str) -> None:
    """Reject Keras argument values this implementation cannot honour, saying why."""
    if value != supported:
        raise ValueError(f"{argument}={value!r} is not supported ({reason} needs {supported!r})")
