"""The loss of a whole model: one loss per output, weighted and summed."""
from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from .base import Loss, build_loss


class CompiledLoss:
    """`total = sum(loss_weight[o] * loss[o](y[o], pred[o], sample_weight))`."""

    def __init__(self, losses: dict[str, Loss], weights: dict[str, float], single: bool,
                 key_paths: dict[str, str] | None = None):
        self.losses = losses
        self.weights = weights
        self.single = single  # one output: predictions/targets are plain tensors
        self.key_paths = key_paths or {o: "compile.loss" for o in losses}

    @classmethod
    def from_config(cls, spec: Any, loss_weights: Any, output_names: list[str],
                    key_path: str = "compile.loss") -> "CompiledLoss":
        if spec is None:
            raise ConfigError("a loss is required for this recipe", key_path)
        if isinstance(spec, list):  # Keras: one loss per output, in output order
            if len(spec) != len(output_names):
                raise ConfigError(f"{len(spec)} losses for {len(output_names)} outputs "
                                  f"({', '.join(output_names)}); give one per output, in order",
                                  key_path)
            specs = {o: (s, f"{key_path}[{i}]") for i, (o, s) in enumerate(zip(output_names, spec))}
        elif isinstance(spec, dict) and "type" not in spec:
            unknown = [k for k in spec if k not in output_names]
            if unknown:
                raise ConfigError(f"'{unknown[0]}' is not a model output (outputs: "
                                  f"{', '.join(output_names)})", f"{key_path}.{unknown[0]}")
            specs = {o: (s, f"{key_path}.{o}") for o, s in spec.items()}
        else:
            specs = {o: (spec, key_path) for o in output_names}
        specs = {o: item for o, item in specs.items() if item[0] is not None}  # no loss for o
        if not specs:
            raise ConfigError("no output has a loss", key_path)
        losses = {o: build_loss(s, path) for o, (s, path) in specs.items()}
        key_paths = {o: path for o, (_, path) in specs.items()}
        if isinstance(loss_weights, list):
            if len(loss_weights) != len(output_names):
                raise ConfigError(f"{len(loss_weights)} loss weights for {len(output_names)} "
                                  f"outputs ({', '.join(output_names)})", "compile.loss_weights")
            loss_weights = dict(zip(output_names, loss_weights))
        unknown = [k for k in (loss_weights or {}) if k not in output_names]
        if unknown:
            raise ConfigError(f"'{unknown[0]}' is not a model output (outputs: "
                              f"{', '.join(output_names)})", f"compile.loss_weights.{unknown[0]}")
        weights = {o: float((loss_weights or {}).get(o, 1.0)) for o in losses}
        return cls(losses, weights, single=len(output_names) == 1, key_paths=key_paths)

    def check_outputs(self, output_shapes: dict[str, tuple]) -> None:
        """Refuse (ConfigError) a loss that cannot use its output's shape (no batch axis)."""
        for o, loss in self.losses.items():
            loss.check_output(tuple(output_shapes[o]), self.key_paths[o])

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total loss, per-output losses; empty for a single output)."""
        if self.single:
            (name, loss), = self.losses.items()
            return loss(y_true, y_pred, sample_weight), {}
        parts = {o: loss(y_true[o], y_pred[o], sample_weight) for o, loss in self.losses.items()}
        total = sum(self.weights[o] * value for o, value in parts.items())
        return total, parts
