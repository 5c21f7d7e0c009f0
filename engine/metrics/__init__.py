"""Streaming metrics (state on the device, `update_state / result / reset_state`) and the
compiled per-output metric set. Knows nothing of the loop."""
from .base import METRICS, Mean, Metric, build_metric
from .compiled import CompiledMetrics, MetricLogs
from . import accuracy  # noqa: F401  (registers the catalogue entries)

__all__ = ["METRICS", "CompiledMetrics", "Mean", "Metric", "MetricLogs", "build_metric"]
