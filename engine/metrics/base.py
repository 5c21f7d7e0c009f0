"""Metric base class, Mean, and the metric catalogue.

A metric is an nn.Module whose state lives in buffers, so `.to(device)` moves it and
`state_dict()` checkpoints a partial epoch. `result()` returns a 0-d tensor and never syncs.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..registry import Registry

METRICS = Registry("metric")


class Metric(nn.Module):
    #: "up" when larger is better (accuracy), "down" otherwise; monitors use it in mode auto.
    direction = "down"

    def __init__(self, name: str | None = None):
        super().__init__()
        self.name = name or _snake(type(self).__name__)

    def add_state(self, name: str, shape: tuple = ()) -> None:
        self.register_buffer(name, torch.zeros(shape, dtype=torch.float32))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: torch.Tensor | None = None) -> None:
        raise NotImplementedError

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def reset_state(self) -> None:
        for buffer in self.buffers():
            buffer.zero_()


class Mean(Metric):
    """Weighted mean of the values passed to `update_state(values, sample_weight)`."""

    def __init__(self, name: str = "mean"):
        super().__init__(name)
        self.add_state("total")
        self.add_state("count")

    def update_state(self, values: torch.Tensor, sample_weight: torch.Tensor | float | None = None) -> None:
        values = values.detach().float()
        if sample_weight is None:
            self.total.add_(values.sum())
            self.count.add_(values.numel())
        elif isinstance(sample_weight, (int, float)):
            self.total.add_(values.sum() * sample_weight)
            self.count.add_(values.numel() * sample_weight)
        else:
            weight = sample_weight.detach().float().reshape(values.shape[:1] + (1,) * (values.dim() - 1)).expand_as(values)
            self.total.add_((values * weight).sum())
            self.count.add_(weight.sum())

    def result(self) -> torch.Tensor:
        return self.total / self.count.clamp_min(1e-12)


METRICS.register("Mean")(Mean)


class MeanMetricWrapper(Mean):
    """A per-sample function averaged over samples (how Keras wraps accuracy-style metrics)."""

    def __init__(self, fn: Any, name: str, direction: str = "down"):
        super().__init__(name)
        self.fn = fn
        self.direction = direction

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: torch.Tensor | None = None) -> None:
        super().update_state(self.fn(y_true, y_pred), sample_weight)


def build_metric(spec: Any, key_path: str) -> Metric:
    metric = METRICS.build(spec, key_path)
    if isinstance(metric, Metric):
        if isinstance(spec, str) and not _is_class_name(spec):
            metric.name = spec.split(":")[-1]
        return metric
    if callable(metric):
        name = spec if isinstance(spec, str) else spec["type"]
        return MeanMetricWrapper(metric, str(name).split(":")[-1])
    raise TypeError(f"{spec!r} did not build a metric")


def _is_class_name(name: str) -> bool:
    return name[:1].isupper()


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))
