"""`build_metric`: a metric from its YAML spec. Looks in the metric catalogue, then in the
loss catalogue (every loss is usable as a metric), then user import paths. Names follow Keras:
a string logs under that string, a mapping under the metric's default (or `name`) name."""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..losses import LOSSES, Loss
from ..registry import is_import_ref, normalize, split_spec, suggest
from .accuracy import AutoAccuracy
from .base import METRICS, MeanMetricWrapper, Metric
from .from_losses import LossMetric


def build_metric(spec: Any, key_path: str) -> Metric:
    name, _ = split_spec(spec, key_path, "metric")
    if isinstance(spec, str) and normalize(spec) in ("accuracy", "acc"):
        return AutoAccuracy(name=spec)
    if is_import_ref(name) or name in METRICS:
        built = METRICS.build(spec, key_path)
    elif name in LOSSES:
        built = LOSSES.build(spec, key_path)
    else:
        where = f"{key_path}.type" if isinstance(spec, dict) else key_path
        raise ConfigError(f"unknown metric '{name}'{suggest(name, METRICS.names() + LOSSES.names())}",
                          where)
    metric = _as_metric(built, name.split(":")[-1], key_path)
    if isinstance(spec, str) and not is_import_ref(spec):
        metric.name = spec
    return metric


def _as_metric(built: Any, name: str, key_path: str) -> Metric:
    if isinstance(built, Metric):
        return built
    if isinstance(built, Loss):
        return LossMetric(built, built.name)
    if callable(built):  # a Keras metric function: the streaming mean of its batch values
        return MeanMetricWrapper(built, getattr(built, "__name__", name))
    raise ConfigError(f"'{name}' did not build a metric", key_path)
