"""Plain user functions as weight components, the way Keras takes them: an initializer
`fn(shape, dtype)` returning the weight, a regulariser `fn(weight)` returning a penalty, a
constraint `fn(weight)` returning the constrained weight. Each sees the weight in Keras's
layout (a Dense kernel is [inputs, units]), whatever the torch layout underneath."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import torch


def to_keras(weight: torch.Tensor, layout: Sequence[int] | None) -> torch.Tensor:
    """The torch weight viewed in Keras's axis order (`layout[k]`: torch dim of Keras axis k)."""
    return weight if layout is None else weight.permute(*layout)


def from_keras(value: torch.Tensor, layout: Sequence[int] | None) -> torch.Tensor:
    """A Keras-ordered tensor back in the torch layout."""
    if layout is None:
        return value
    return value.permute(*[list(layout).index(d) for d in range(len(layout))])


class FunctionInitializer:
    """`fn(shape, dtype)` (or `fn(shape)`) -> the initial weight, shape in Keras's order."""

    def __init__(self, fn: Callable, layout: Sequence[int] | None = None):
        self.fn = fn
        self.layout = layout
        params = inspect.signature(fn).parameters.values()
        self._takes_dtype = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                                for p in params) >= 2

    def bound(self, layout: Sequence[int]) -> "FunctionInitializer":
        return FunctionInitializer(self.fn, tuple(layout))

    def __call__(self, tensor: torch.Tensor, fan_in: int, fan_out: int) -> None:
        layout = self.layout if self.layout is not None else tuple(range(tensor.dim()))
        shape = tuple(tensor.shape[d] for d in layout)
        value = self.fn(shape, tensor.dtype) if self._takes_dtype else self.fn(shape)
        value = torch.as_tensor(value, dtype=tensor.dtype)
        if tuple(value.shape) != shape:
            raise ValueError(f"initializer {self.fn.__name__} returned shape {list(value.shape)} "
                             f"for a weight of shape {list(shape)}")
        tensor.copy_(from_keras(value, layout))


class FunctionRegularizer:
    """`fn(weight) -> penalty`; an activity regulariser gets the layer's output as it is."""

    def __init__(self, fn: Callable, layout: Sequence[int] | None = None):
        self.fn = fn
        self.layout = layout

    def bound(self, layout: Sequence[int]) -> "FunctionRegularizer":
        return FunctionRegularizer(self.fn, tuple(layout))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.fn(to_keras(x, self.layout)))


class FunctionConstraint:
    """`fn(weight) -> constrained weight`, applied after each optimizer step."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, w: torch.Tensor, layout: Sequence[int]) -> torch.Tensor:
        return from_keras(torch.as_tensor(self.fn(to_keras(w, layout))), layout)


def bind_layout(component: Any, layout: Sequence[int]) -> Any:
    """A function component bound to its weight's Keras layout; other components unchanged."""
    return component.bound(layout) if isinstance(component, (FunctionInitializer,
                                                              FunctionRegularizer)) else component
