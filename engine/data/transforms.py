"""Transforms declared in YAML (`data.transforms`), applied once to whole arrays at load time."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import ConfigError
from ..registry import Registry, split_spec

TRANSFORMS = Registry("transform")
Transform = Callable[[np.ndarray], np.ndarray]


@TRANSFORMS.register("scale")
def scale(factor: float) -> Transform:
    return lambda a: a.astype(np.float32) * np.float32(factor)


@TRANSFORMS.register("reshape")
def reshape(shape: list[int]) -> Transform:
    return lambda a: a.reshape(len(a), *shape)


@TRANSFORMS.register("cast")
def cast(dtype: str) -> Transform:
    return lambda a: a.astype(np.dtype(dtype))


def build_transforms(specs: list[Any], key_path: str) -> list[Transform]:
    """A transform is `{name: argument}` (one key) or `{type: name, ...args}` or a bare name."""
    out = []
    for i, spec in enumerate(specs):
        path = f"{key_path}[{i}]"
        if isinstance(spec, dict) and "type" not in spec:
            if len(spec) != 1:
                raise ConfigError("a transform is one mapping entry like {scale: 0.5}", path)
            (name, arg), = spec.items()
            factory = TRANSFORMS.lookup(name, path)
            args = arg if isinstance(arg, dict) else {_first_param(factory): arg}
            out.append(TRANSFORMS.build({"type": name, **args}, path))
        else:
            split_spec(spec, path, "transform")
            out.append(TRANSFORMS.build(spec, path))
    return out


def _first_param(factory: Callable) -> str:
    import inspect
    return next(iter(inspect.signature(factory).parameters))
