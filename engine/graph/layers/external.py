"""Escape hatches: `type: torch.nn.X` (arguments passed unchanged to that module) and user
layers by import path (`my_pkg.layers:Block`, `path/file.py:Block`).

A user layer is any torch.nn.Module class. A trainer `Layer` subclass gets `build(input_shape)`;
a plain module whose __init__ has an `input_shape` parameter receives the inferred shape
(without the batch axis; a list of shapes for several inputs) there. A `torch.nn` module
returning a tuple (torch.nn.LSTM) yields its first item; a user layer's tuple or list is its
several outputs.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from ...errors import ConfigError
from ...registry import check_arguments, suggest
from .base import Layer

TORCH_PREFIX = "torch.nn."


def is_torch_module(type_name: str) -> bool:
    return type_name.startswith(TORCH_PREFIX)


def torch_module_class(type_name: str, key_path: str) -> type:
    name = type_name[len(TORCH_PREFIX):]
    cls = getattr(nn, name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        modules = [n for n in dir(nn) if isinstance(getattr(nn, n), type)
                   and issubclass(getattr(nn, n), nn.Module)]
        raise ConfigError(f"torch.nn has no module '{name}'{suggest(name, modules)}", key_path)
    return cls


class ModuleLayer(Layer):
    """Wraps a plain torch module so the graph treats it like a catalogue layer."""

    def __init__(self, module: nn.Module, keep_outputs: bool = False):
        super().__init__()
        self.module = module
        self.keep_outputs = keep_outputs

    def forward(self, x: Any) -> Any:
        out = self.module(x)
        return out[0] if isinstance(out, tuple) and not self.keep_outputs else out


def build_module(cls: type, args: dict[str, Any], input_shape: Any, key_path: str,
                 what: str, keep_outputs: bool = False) -> Layer:
    """Instantiate `cls` with `args` (checked against its signature); wrap non-Layer modules."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ConfigError(f"{what} is not a torch.nn.Module class", key_path)
    context = ("input_shape",) if _takes_input_shape(cls) and not issubclass(cls, Layer) else ()
    check_arguments(cls, args, key_path, what, context)
    shape = [tuple(s) for s in input_shape] if isinstance(input_shape, list) else tuple(input_shape)
    extra = {"input_shape": shape} if context else {}
    try:
        module = cls(**args, **extra)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot build {what}: {exc}", key_path) from exc
    return module if isinstance(module, Layer) else ModuleLayer(module, keep_outputs)


def _takes_input_shape(cls: type) -> bool:
    import inspect
    try:
        return "input_shape" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
