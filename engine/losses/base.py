"""The Loss base class, Keras's reductions, and the loss catalogue.

A loss computes one value per sample (`per_sample`), weights them, then reduces them as Keras 3
does: `sum_over_batch_size` (the default; `mean` is its alias) divides sum(loss * sample_weight)
by the number of values (not by the sum of weights), `sum` sums, `mean_with_sample_weight`
divides by the sum of the weights, `none` returns the weighted values (for recipes that reduce
them themselves). Inputs are aligned the Keras way (`align_ranks`) and computed in float32
whatever the autocast dtype of the predictions.
"""
from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from ..registry import Registry

LOSSES = Registry("loss", takes_functions=True)
EPSILON = 1e-7  # keras.backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none")


def align_ranks(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras `squeeze_or_expand_to_same_rank`: when ranks differ by one and the longer one
    ends in a size-1 axis, expand the rank-1 tensor (or squeeze the longer one)."""
    if a.dim() == b.dim() + 1 and a.shape[-1] == 1:
        return (a, b.unsqueeze(-1)) if b.dim() == 1 else (a.squeeze(-1), b)
    if b.dim() == a.dim() + 1 and b.shape[-1] == 1:
        return (a.unsqueeze(-1), b) if a.dim() == 1 else (a, b.squeeze(-1))
    return a, b


def broadcast_weight(weight: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """A per-sample weight `[B]` (or `[B, ...]`) shaped to multiply `values` `[B, ...]`."""
    weight = weight.to(values.dtype)
    if weight.dim() == values.dim() + 1 and weight.shape[-1] == 1:
        weight = weight.squeeze(-1)
    return weight.reshape(weight.shape + (1,) * (values.dim() - weight.dim()))


class Loss:
    """Subclasses implement `per_sample`; `valid_mask` marks entries that count (ignore_class)."""

    name = "loss"
    reduction = "sum_over_batch_size"

    def per_sample(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def valid_mask(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor | None:
        return None

    def check_output(self, shape: tuple, key_path: str) -> None:
        """Refuse, before training, an output (shape without batch axis) this loss cannot use."""

    def values(self, y_true: torch.Tensor, y_pred: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(per-sample values, validity mask or None) for float32 aligned inputs."""
        y_pred = y_pred.float()
        y_true = y_true.float()
        y_true, y_pred = align_ranks(y_true, y_pred)
        return self.per_sample(y_true, y_pred), self.valid_mask(y_true, y_pred)

    def __call__(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                 sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        values, mask = self.values(y_true, y_pred)
        return reduce_weighted(values, sample_weight, mask, self.reduction)


def reduce_weighted(values: torch.Tensor, sample_weight: torch.Tensor | None,
                    mask: torch.Tensor | None, reduction: str) -> torch.Tensor:
    """Keras's `reduce_weighted_values`: the mask merges into the weights (valid entries weigh
    total/valid under the mean reductions), then the weighted values are reduced."""
    weight = None
    if mask is not None:
        mask = mask.to(values.dtype)
        if reduction in ("sum_over_batch_size", "mean"):
            mask = mask * (mask.numel() / mask.sum().clamp_min(1e-12))
        weight = mask if sample_weight is None else broadcast_weight(sample_weight, mask) * mask
    elif sample_weight is not None:
        weight = broadcast_weight(sample_weight, values)
    if weight is not None:
        values = values * weight
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = weight.sum()
        return torch.where(divisor != 0, total / divisor, torch.zeros_like(total))
    return total / max(values.numel(), 1)


LOSSES.expects = (Loss, torch.nn.Module)  # a torch loss module is used as a function


class LossFunctionWrapper(Loss):
    """A loss defined by a per-sample function `fn(y_true, y_pred, **options)`."""

    fn: Any = None
    #: True for losses over a class axis (one unit per class): refuse a 1-unit output.
    needs_classes = False

    def __init__(self, name: str, **options: Any):
        self.name = name
        self.options = options

    def per_sample(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return type(self).fn(y_true, y_pred, **self.options)

    def check_output(self, shape: tuple, key_path: str) -> None:
        if self.needs_classes and (not shape or shape[-1] == 1):
            raise ConfigError(f"{self.name} needs one output unit per class, but the output has "
                              f"shape {list(shape)} (use a binary loss/metric for one unit)",
                              key_path)


class _FunctionLoss(Loss):
    """A user callable `fn(y_true, y_pred) -> per-sample values`."""

    def __init__(self, fn: Any, name: str):
        self.fn = fn
        self.name = name

    def per_sample(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self.fn(y_true, y_pred)


def build_loss(spec: Any, key_path: str) -> Loss:
    """A loss from its spec; `reduction` (any loss, as in Keras) is taken off the mapping here."""
    reduction = "sum_over_batch_size"
    if isinstance(spec, dict) and "reduction" in spec:
        spec = dict(spec)
        reduction = spec.pop("reduction")
        if reduction is None:
            reduction = "none"
        if reduction not in REDUCTIONS:
            raise ConfigError(f"unknown reduction {reduction!r}; accepted: {', '.join(REDUCTIONS)}",
                              f"{key_path}.reduction")
    loss = LOSSES.build(spec, key_path)
    if not isinstance(loss, Loss):
        if not callable(loss):
            raise ConfigError(f"{spec!r} did not build a loss", key_path)
        name = spec if isinstance(spec, str) else spec.get("type", "loss")
        loss = _FunctionLoss(loss, str(name).split(":")[-1])
    if reduction != "sum_over_batch_size":
        loss.reduction = reduction
    return loss
