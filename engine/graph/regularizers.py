"""Weight and activity regularisers by Keras name: l1, l2, l1_l2 (penalties added to the loss),
or a user function `file.py:fn` (`fn(weight) -> penalty`)."""
from __future__ import annotations

from typing import Any

import torch

from ..registry import Registry, is_plain_function
from .functions import FunctionRegularizer

REGULARIZERS = Registry("regularizer", takes_functions=True)


@REGULARIZERS.register("L1L2", "l1_l2")
class L1L2:
    """l1 * sum(|x|) + l2 * sum(x^2). The bare name `l1_l2` uses 0.01 for both, as Keras's docs say."""

    def __init__(self, l1: float = 0.01, l2: float = 0.01):
        self.l1, self.l2 = float(l1), float(l2)
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError("regularization factors must be >= 0")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.l1 and self.l2:
            return self.l1 * x.abs().sum() + self.l2 * x.square().sum()
        if self.l1:
            return self.l1 * x.abs().sum()
        return self.l2 * x.square().sum()


@REGULARIZERS.register("L1")
def l1(l1: float = 0.01) -> L1L2:  # noqa: D103 - Keras's L1
    return L1L2(l1=l1, l2=0.0)


@REGULARIZERS.register("L2")
def l2(l2: float = 0.01) -> L1L2:  # noqa: D103 - Keras's L2
    return L1L2(l1=0.0, l2=l2)


def get_regularizer(spec: Any, argument: str) -> Any:
    if spec is None or callable(spec) and not isinstance(spec, (str, dict)):
        return spec
    built = REGULARIZERS.build(spec, argument)
    return FunctionRegularizer(built) if is_plain_function(built) else built
