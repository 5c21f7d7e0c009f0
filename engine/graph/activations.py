"""Activations by Keras name."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..registry import Registry

ACTIVATIONS = Registry("activation")
ACTIVATIONS.register("linear")(lambda x: x)
ACTIVATIONS.register("relu")(torch.relu)
ACTIVATIONS.register("sigmoid")(torch.sigmoid)
ACTIVATIONS.register("tanh")(torch.tanh)
ACTIVATIONS.register("softmax")(lambda x: torch.softmax(x, dim=-1))


def get_activation(spec: str | None) -> Callable[[torch.Tensor], torch.Tensor]:
    if spec is None:
        return ACTIVATIONS.lookup("linear", "activation")
    if callable(spec):
        return spec
    return ACTIVATIONS.lookup(spec, "activation")


__all__ = ["ACTIVATIONS", "get_activation", "F"]
