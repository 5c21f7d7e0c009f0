"""Keras's `add_loss` for user layers: a term a layer adds during its forward pass.

`add_loss(value)` inside a user layer's `forward` (or `self.add_loss(value)` in a trainer
`Layer`) records `sum(value)` for the current forward of the model; the model keeps the terms
of its last forward, and the training loss adds them (`GraphModel.regularization_loss`), in
training and in evaluation, as Keras folds `model.losses` into `loss`. Called outside a model's
forward (the builder's shape probe, a layer run on its own), it records nothing.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

import torch

_current: contextvars.ContextVar[list[torch.Tensor] | None] = contextvars.ContextVar(
    "added_losses", default=None)


def add_loss(value: torch.Tensor) -> None:
    """Add `sum(value)` to the loss of the model forward now running."""
    losses = _current.get()
    if losses is None:
        return
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"add_loss takes a tensor, got {type(value).__name__}")
    losses.append(value.float().sum())


@contextlib.contextmanager
def collecting() -> Iterator[list[torch.Tensor]]:
    """The terms added during the block (a fresh list: losses are collected per forward)."""
    losses: list[torch.Tensor] = []
    token = _current.set(losses)
    try:
        yield losses
    finally:
        _current.reset(token)
