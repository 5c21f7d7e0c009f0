"""Activation functions by Keras name (relu, gelu, swish, softmax, ...), as torch functions."""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..registry import Registry

ACTIVATIONS = Registry("activation", expects="function")
Activation = Callable[[torch.Tensor], torch.Tensor]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


for _names, _fn in [
    (("linear",), _identity),
    (("relu",), torch.relu),
    (("relu6",), F.relu6),
    (("elu",), F.elu),
    (("selu",), F.selu),
    (("gelu",), F.gelu),  # Keras 3's gelu is exact (approximate=False) by default
    (("silu", "swish"), F.silu),
    (("mish",), F.mish),
    (("sigmoid",), torch.sigmoid),
    (("hard_sigmoid",), F.hardsigmoid),
    (("tanh",), torch.tanh),
    (("softplus",), F.softplus),
    (("softsign",), F.softsign),
    (("exponential",), torch.exp),
    (("leaky_relu",), functools.partial(F.leaky_relu, negative_slope=0.2)),  # Keras's default
    (("softmax",), functools.partial(torch.softmax, dim=-1)),
    (("log_softmax",), functools.partial(torch.log_softmax, dim=-1)),
]:
    ACTIVATIONS.register(*_names)(_fn)


def get_activation(spec: Any, argument: str = "activation") -> Activation:
    """A name (None = linear) -> the function."""
    if spec is None:
        return _identity
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        from ..errors import ConfigError
        raise ConfigError("an activation is given by name (e.g. relu)", argument)
    return ACTIVATIONS.lookup(spec, argument)
