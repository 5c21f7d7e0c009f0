"""A saved Keras compile config (optimizer, loss, loss_weights, metrics, weighted_metrics) ->
trainer's `compile` section, each part checked by building it, problems collected."""
from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from ..losses import CompiledLoss
from ..metrics import CompiledMetrics
from ..optim import build_optimizer
from .serialized import component, is_serialized

# Compile settings that change nothing trainer computes.
IGNORED = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss")


def compile_section(saved: dict[str, Any] | None, output_names: list[str],
                    problems: list[str]) -> dict[str, Any]:
    if not saved:
        return {}
    section: dict[str, Any] = {}
    if saved.get("optimizer") is not None:
        section["optimizer"] = component(saved["optimizer"])
    for key in ("loss", "metrics", "weighted_metrics"):
        if saved.get(key) is not None:
            section[key] = _per_output(_plain(saved[key]), output_names, key)
    if saved.get("loss_weights") is not None:
        section["loss_weights"] = _per_output(saved["loss_weights"], output_names, "loss_weights")
    for key, value in saved.items():
        if key not in (*IGNORED, "optimizer", "loss", "loss_weights", "metrics",
                       "weighted_metrics") and value not in (None, False):
            problems.append(f"compile: {key}={value!r} is not supported")
    _check(section, output_names, problems)
    return section


def _plain(value: Any) -> Any:
    """Losses and metrics: a Keras function reference is its name; objects become specs."""
    if is_serialized(value) and value["class_name"] == "function":
        return value["config"]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and not is_serialized(value):
        return {k: _plain(v) for k, v in value.items()}
    return component(value)


def _per_output(value: Any, output_names: list[str], key: str) -> Any:
    """Keras's list-per-output forms become trainer's mapping by output name."""
    if len(output_names) > 1 and isinstance(value, list) and len(value) == len(output_names) \
            and (key != "metrics" and key != "weighted_metrics" or all(isinstance(v, list) for v in value)):
        return dict(zip(output_names, value))
    return value


def _check(section: dict[str, Any], output_names: list[str], problems: list[str]) -> None:
    checks = (
        ("optimizer", lambda: build_optimizer(section["optimizer"], [torch.zeros(1, requires_grad=True)],
                                              "compile.optimizer")),
        ("loss", lambda: CompiledLoss.from_config(section["loss"], section.get("loss_weights"),
                                                  output_names)),
        ("metrics", lambda: CompiledMetrics.from_config(section.get("metrics"),
                                                        section.get("weighted_metrics"), output_names)),
    )
    for key, build in checks:
        if key in section:
            try:
                build()
            except ConfigError as exc:
                problems.append(f"compile.{key}: {exc}")
