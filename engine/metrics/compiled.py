"""The metrics of a whole model (per output, weighted or not) and lazily read logs."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

import torch
from torch import nn

from ..errors import ConfigError
from ..config.schema import METRICS_FORMS
from .base import Mean, Metric
from .build import build_metric


class MetricLogs(Mapping):
    """Read-only view name -> current result; each result is computed when read, so a
    step that nobody reads costs nothing (the progress bar reads on a timer)."""

    def __init__(self, metrics: Mapping[str, Metric]):
        self._metrics = metrics

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._metrics[name].result()

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)


class CompiledMetrics(nn.Module):
    """`loss`, per-output losses, and `compile.metrics` / `compile.weighted_metrics`, named
    as Keras logs them (`<metric>`, or `<output>_<metric>` for several outputs)."""

    def __init__(self, output_names: list[str], metrics: dict[str, list[tuple[Metric, bool]]],
                 key_paths: dict[int, str] | None = None, loss_outputs: list[str] | None = None):
        """`key_paths`: id(metric) -> its config key path, for error messages; `loss_outputs`:
        the outputs whose loss is logged as `<output>_loss` (default: every output)."""
        super().__init__()
        self.output_names = output_names
        self.single = len(output_names) == 1
        self.loss = Mean("loss")
        logged = output_names if loss_outputs is None else loss_outputs
        self.output_losses = nn.ModuleDict(
            {} if self.single else {o: Mean(f"{o}_loss") for o in logged})
        self.per_output = metrics
        self.all = nn.ModuleDict()
        self.all["loss"] = self.loss
        for o, m in self.output_losses.items():
            self.all[f"{o}_loss"] = m
        for output, items in metrics.items():
            for metric, _ in items:
                name = metric.name if self.single else f"{output}_{metric.name}"
                if name in self.all:
                    raise ConfigError(f"metric '{name}' is listed twice", "compile.metrics")
                metric.name = name
                self.all[name] = metric
        self._logs = MetricLogs(self.all)
        self.key_paths = {m.name: (key_paths or {}).get(id(m), "compile.metrics")
                          for items in metrics.values() for m, _ in items}

    @classmethod
    def from_config(cls, metrics: Any, weighted: Any, output_names: list[str],
                    loss_outputs: list[str] | None = None) -> "CompiledMetrics":
        per_output: dict[str, list[tuple[Metric, bool]]] = {o: [] for o in output_names}
        key_paths: dict[int, str] = {}

        def build(spec: Any, is_weighted: bool, key_path: str) -> tuple[Metric, bool]:
            metric = build_metric(spec, key_path)
            key_paths[id(metric)] = key_path
            return metric, is_weighted

        for spec, is_weighted, key in ((metrics, False, "compile.metrics"),
                                       (weighted, True, "compile.weighted_metrics")):
            if spec is None:
                continue
            if spec and all(isinstance(items, list) for items in spec):  # one list per output
                if len(spec) != len(output_names):
                    raise ConfigError(f"{len(spec)} metric lists for {len(output_names)} outputs "
                                      f"({', '.join(output_names)}); give one per output, in "
                                      f"order", key)
                spec = dict(zip(output_names, spec))
                paths = {o: f"{key}[{i}]" for i, o in enumerate(output_names)}
            else:
                paths = {o: f"{key}.{o}" for o in output_names}
            if isinstance(spec, dict):
                for output, items in spec.items():
                    if output not in per_output:
                        raise ConfigError(f"'{output}' is not a model output (outputs: "
                                          f"{', '.join(output_names)})", f"{key}.{output}")
                    per_output[output] += [build(s, is_weighted, f"{paths[output]}[{i}]")
                                           for i, s in enumerate(items)]
            else:
                for i, s in enumerate(spec):
                    if isinstance(s, list):
                        raise ConfigError(f"mix of metrics and metric lists; {METRICS_FORMS}",
                                          f"{key}[{i}]")
                for output in output_names:
                    per_output[output] += [build(s, is_weighted, f"{key}[{i}]")
                                           for i, s in enumerate(spec)]
        return cls(output_names, per_output, key_paths, loss_outputs)

    def check_outputs(self, output_shapes: dict[str, tuple]) -> None:
        """Refuse (ConfigError) a metric that cannot use its output's shape (no batch axis)."""
        for output, items in self.per_output.items():
            for metric, _ in items:
                metric.check_output(tuple(output_shapes[output]), self.key_paths[metric.name])

    def update(self, y_true: Any, y_pred: Any, sample_weight: torch.Tensor | None,
               loss: torch.Tensor, output_losses: dict[str, torch.Tensor], batch_size: int) -> None:
        """Update every metric with one batch (sample_weight: the loss's weights)."""
        self.loss.update_state(loss, batch_size)
        for o, value in output_losses.items():
            self.output_losses[o].update_state(value, batch_size)
        for output, items in self.per_output.items():
            t = y_true if self.single else y_true[output]
            p = y_pred if self.single else y_pred[output]
            for metric, weighted in items:
                metric.update_state(t, p, sample_weight if weighted else None)

    def reset(self) -> None:
        for metric in self.all.values():
            metric.reset_state()

    def logs(self) -> MetricLogs:
        """A live view (built once): results are computed when read."""
        return self._logs
