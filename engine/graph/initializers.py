"""Weight initialisers by Keras name (Keras defaults: glorot_uniform kernels, zero biases)."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from ..registry import Registry

INITIALIZERS = Registry("initializer")
INITIALIZERS.register("zeros")(nn.init.zeros_)
INITIALIZERS.register("ones")(nn.init.ones_)
INITIALIZERS.register("glorot_uniform")(nn.init.xavier_uniform_)
INITIALIZERS.register("glorot_normal")(nn.init.xavier_normal_)


def get_initializer(spec: Any) -> Callable[[torch.Tensor], Any]:
    if callable(spec):
        return spec
    return INITIALIZERS.build(spec, "initializer") if isinstance(spec, dict) else INITIALIZERS.lookup(spec, "initializer")
