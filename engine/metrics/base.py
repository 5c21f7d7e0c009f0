"""Metric base class, Mean / Sum / MeanMetricWrapper, and the metric catalogue.

A metric is an nn.Module whose state lives in buffers, so `.to(device)` moves it and
`state_dict()` checkpoints a partial epoch. Each state declares how ranks combine it under
torchrun (`reduction`: sum, max or min); other buffers (thresholds, index tables) are
configuration and are never reduced. `update_state` runs on the device without host
syncs; `result()` returns a tensor and is the only place a value is computed. Weighting follows
Keras's `reduce_to_samplewise_values`: values are first averaged to one per sample.
"""
from __future__ import annotations

import re
from numbers import Number
from typing import Any, Callable

import torch
from torch import nn

from ..errors import ConfigError
from ..losses.base import Loss, align_ranks
from ..registry import Registry

METRICS = Registry("metric", expects=(nn.Module, Loss), takes_functions=True)  # a Metric, or a Loss used as one
STATE_REDUCTIONS = ("sum", "max", "min")


class Metric(nn.Module):
    #: "up" when larger is better (accuracy), "down" otherwise; monitors use it in mode auto.
    direction = "down"

    def __init__(self, name: str | None = None):
        super().__init__()
        self.name = name or _snake(type(self).__name__)
        self.state_reductions: dict[str, str] = {}

    @property
    def state_names(self) -> list[str]:
        return list(self.state_reductions)

    def add_state(self, name: str, shape: tuple = (), dtype: torch.dtype = torch.float32,
                  reduction: str = "sum") -> None:
        """A zero-initialised state buffer: moved with `.to()`, checkpointed, zeroed on reset,
        and combined across ranks with `reduction` (sum, max or min)."""
        if reduction not in STATE_REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(STATE_REDUCTIONS)}, "
                             f"got '{reduction}'")
        device = next(self.buffers(), torch.empty(0)).device
        self.register_buffer(name, torch.zeros(shape, dtype=dtype, device=device))
        self.state_reductions[name] = reduction

    def check_output(self, shape: tuple, key_path: str) -> None:
        """Refuse, before training, an output (shape without batch axis) this metric cannot
        use; metrics whose state size depends on the output allocate it here."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: torch.Tensor | None = None) -> None:
        raise NotImplementedError

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def reset_state(self) -> None:
        for name in self.state_names:
            getattr(self, name).zero_()


def samplewise(values: torch.Tensor, sample_weight: Any, reduce: Callable
               ) -> tuple[torch.Tensor, Any]:
    """(one value per sample, weight per sample) as Keras's `reduce_to_samplewise_values`."""
    values = values.detach().float()
    if sample_weight is not None and not isinstance(sample_weight, Number):
        weight = sample_weight.detach().to(values.device, torch.float32)
        values, weight = align_ranks(values, weight)
        if values.dim() > weight.dim():
            values = reduce(values, dim=tuple(range(weight.dim(), values.dim())))
        weight = weight.expand_as(values)
        values = values * weight
        if weight.dim() > 1:
            weight = reduce(weight, dim=tuple(range(1, weight.dim())))
        sample_weight = weight
    elif sample_weight is not None:
        values = values * float(sample_weight)
    if values.dim() > 1:
        values = reduce(values, dim=tuple(range(1, values.dim())))
    return values, sample_weight


class Sum(Metric):
    """Weighted sum of the values passed to `update_state(values, sample_weight)`."""

    def __init__(self, name: str = "sum"):
        super().__init__(name)
        self.add_state("total")

    def update_state(self, values: torch.Tensor, sample_weight: Any = None) -> None:
        values, _ = samplewise(values, sample_weight, torch.sum)
        self.total.add_(values.sum())

    def result(self) -> torch.Tensor:
        return self.total.clone()


class Mean(Metric):
    """Weighted mean of the values passed to `update_state(values, sample_weight)`."""

    def __init__(self, name: str = "mean"):
        super().__init__(name)
        self.add_state("total")
        self.add_state("count")

    def update_state(self, values: torch.Tensor, sample_weight: Any = None) -> None:
        values, weight = samplewise(values, sample_weight, torch.mean)
        self.total.add_(values.sum())
        if weight is None:
            self.count.add_(values.shape[0] if values.dim() else 1)
        elif isinstance(weight, Number):
            self.count.add_(float(weight) * (values.numel()))
        else:
            self.count.add_(weight.sum())

    def result(self) -> torch.Tensor:
        return torch.where(self.count != 0, self.total / self.count, torch.zeros_like(self.total))


METRICS.register("Mean")(Mean)
METRICS.register("Sum")(Sum)


class MeanMetricWrapper(Mean):
    """A per-sample function averaged over samples (how Keras wraps accuracy-style metrics)."""

    #: True for metrics over a class axis (one unit per class): refuse a 1-unit output.
    needs_classes = False

    def __init__(self, fn: Any, name: str, direction: str = "down", **options: Any):
        super().__init__(name)
        self.fn = fn
        self.options = options
        self.direction = direction

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: torch.Tensor | None = None) -> None:
        super().update_state(self.fn(y_true, y_pred, **self.options), sample_weight)

    def check_output(self, shape: tuple, key_path: str) -> None:
        if self.needs_classes and (not shape or shape[-1] == 1):
            raise ConfigError(f"metric '{self.name}' needs one output unit per class, but the "
                              f"output has shape {list(shape)} (use binary_accuracy or a binary "
                              f"metric for a single unit)", key_path)


def _snake(name: str) -> str:
    """Keras's `to_snake_case` (default metric names: AUC -> auc, MeanIoU -> mean_io_u)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
