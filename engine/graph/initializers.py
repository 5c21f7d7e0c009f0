"""Weight initialisers by Keras name and arguments (glorot_uniform, he_normal, orthogonal, ...).

An initialiser fills a tensor in place given the fans Keras computes for that weight (the layer
passes them, since torch and Keras lay kernels out differently); it uses torch's global RNG
(seeded by the experiment) unless it was given its own `seed`.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import Registry, is_plain_function
from .functions import FunctionInitializer

INITIALIZERS = Registry("initializer", takes_functions=True)

# Keras divides the truncated normal's stddev by this (the stddev of a unit normal cut at +-2).
_TRUNCATED_STDDEV = 0.87962566103423978


class Initializer:
    def __init__(self, seed: int | None = None):
        self.seed = seed

    def generator(self) -> torch.Generator | None:
        return None if self.seed is None else torch.Generator().manual_seed(int(self.seed))

    def __call__(self, tensor: torch.Tensor, fan_in: int, fan_out: int) -> None:
        raise NotImplementedError


INITIALIZERS.expects = (Initializer,)


@INITIALIZERS.register("Zeros")
class Zeros(Initializer):
    def __call__(self, tensor, fan_in, fan_out):
        nn.init.zeros_(tensor)


@INITIALIZERS.register("Ones")
class Ones(Initializer):
    def __call__(self, tensor, fan_in, fan_out):
        nn.init.ones_(tensor)


@INITIALIZERS.register("Constant")
class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        super().__init__()
        self.value = float(value)

    def __call__(self, tensor, fan_in, fan_out):
        nn.init.constant_(tensor, self.value)


@INITIALIZERS.register("RandomNormal", "normal")
class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, tensor, fan_in, fan_out):
        nn.init.normal_(tensor, self.mean, self.stddev, generator=self.generator())


@INITIALIZERS.register("TruncatedNormal")
class TruncatedNormal(RandomNormal):
    def __call__(self, tensor, fan_in, fan_out):
        _truncated_normal(tensor, self.mean, self.stddev, self.generator())


@INITIALIZERS.register("RandomUniform", "uniform")
class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, tensor, fan_in, fan_out):
        nn.init.uniform_(tensor, self.minval, self.maxval, generator=self.generator())


@INITIALIZERS.register("VarianceScaling")
class VarianceScaling(Initializer):
    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be fan_in, fan_out or fan_avg, got '{mode}'")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("distribution must be truncated_normal, untruncated_normal or "
                             f"uniform, got '{distribution}'")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, tensor, fan_in, fan_out):
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            nn.init.uniform_(tensor, -limit, limit, generator=self.generator())
        elif self.distribution == "untruncated_normal":
            nn.init.normal_(tensor, 0.0, math.sqrt(variance), generator=self.generator())
        else:
            _truncated_normal(tensor, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV,
                              self.generator())


def _variance_scaling(keras_name: str, scale: float, mode: str, distribution: str) -> type:
    class Preset(VarianceScaling):
        def __init__(self, seed: int | None = None):
            super().__init__(scale, mode, distribution, seed)
    Preset.__name__ = Preset.__qualname__ = keras_name
    return INITIALIZERS.register(keras_name)(Preset)


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


@INITIALIZERS.register("Orthogonal")
class Orthogonal(Initializer):
    """Orthogonal rows or columns (whichever are fewer) of the weight seen as a matrix."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = float(gain)

    def __call__(self, tensor, fan_in, fan_out):
        nn.init.orthogonal_(tensor, self.gain, generator=self.generator())


@INITIALIZERS.register("Identity")
class Identity(Initializer):
    def __init__(self, gain: float = 1.0):
        super().__init__()
        self.gain = float(gain)

    def __call__(self, tensor, fan_in, fan_out):
        if tensor.dim() != 2:
            raise ValueError("the Identity initializer needs a 2-D weight")
        nn.init.eye_(tensor).mul_(self.gain)


def _truncated_normal(tensor: torch.Tensor, mean: float, stddev: float,
                      generator: torch.Generator | None) -> None:
    nn.init.trunc_normal_(tensor, mean, stddev, mean - 2 * stddev, mean + 2 * stddev,
                          generator=generator)


def get_initializer(spec: Any, argument: str) -> Initializer | FunctionInitializer:
    """`"glorot_uniform"`, `{type: RandomNormal, stddev: 0.1}` or a user function
    `file.py:fn` (`fn(shape, dtype)`) -> an initializer.
    Errors name `argument` (the layer argument); the graph builder prefixes the layer's path."""
    if isinstance(spec, (Initializer, FunctionInitializer)):
        return spec
    if spec is None:
        raise ConfigError("an initializer is required here", argument)
    built = INITIALIZERS.build(spec, argument)
    return FunctionInitializer(built) if is_plain_function(built) else built
