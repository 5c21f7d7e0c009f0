"""Weight constraints by Keras name (max_norm, non_neg, unit_norm), applied after each update.

`axis` counts axes of the weight in Keras's layout (a Dense kernel is [inputs, units]); the
layer tells where each Keras axis lives in the torch tensor, so `max_norm` with the default
axis 0 bounds each unit's incoming weight vector exactly as in Keras. A user function
`file.py:fn` (`fn(weight) -> constrained weight`) sees the weight in Keras's layout.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ..registry import Registry, is_plain_function
from .functions import FunctionConstraint

CONSTRAINTS = Registry("constraint", takes_functions=True)
_EPSILON = 1e-7  # Keras's backend epsilon


class Constraint:
    def __call__(self, w: torch.Tensor, layout: Sequence[int]) -> torch.Tensor:
        raise NotImplementedError


CONSTRAINTS.expects = (Constraint,)


def _torch_dims(axis: int | Sequence[int], layout: Sequence[int]) -> list[int]:
    axes = [axis] if isinstance(axis, int) else list(axis)
    return [layout[a] for a in axes]


@CONSTRAINTS.register("MaxNorm", "max_norm")
class MaxNorm(Constraint):
    def __init__(self, max_value: float = 2.0, axis: int | list[int] = 0):
        self.max_value, self.axis = float(max_value), axis

    def __call__(self, w, layout):
        norms = w.square().sum(_torch_dims(self.axis, layout), keepdim=True).sqrt()
        return w * (norms.clamp(0, self.max_value) / (_EPSILON + norms))


@CONSTRAINTS.register("UnitNorm", "unit_norm")
class UnitNorm(Constraint):
    def __init__(self, axis: int | list[int] = 0):
        self.axis = axis

    def __call__(self, w, layout):
        return w / (_EPSILON + w.square().sum(_torch_dims(self.axis, layout), keepdim=True).sqrt())


@CONSTRAINTS.register("NonNeg", "non_neg")
class NonNeg(Constraint):
    def __call__(self, w, layout):
        return w.clamp_min(0.0)


def get_constraint(spec: Any, argument: str) -> Any:
    if spec is None or isinstance(spec, (Constraint, FunctionConstraint)):
        return spec
    built = CONSTRAINTS.build(spec, argument)
    return FunctionConstraint(built) if is_plain_function(built) else built
