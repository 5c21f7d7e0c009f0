"""Streaming metrics (state on the device, `update_state / result / reset_state`) and the
compiled per-output metric set. Knows nothing of the loop."""
from .base import METRICS, Mean, MeanMetricWrapper, Metric, Sum
from .build import build_metric
from .compiled import CompiledMetrics, MetricLogs
from . import accuracy, confusion, fscore, iou, regression  # noqa: F401  (register the catalogue)

__all__ = ["METRICS", "CompiledMetrics", "Mean", "MeanMetricWrapper", "Metric", "MetricLogs",
           "Sum", "build_metric"]
