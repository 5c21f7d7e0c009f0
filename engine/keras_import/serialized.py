"""Keras's serialized objects (`{class_name, config, module}` for initializers, regularizers,
constraints, losses, metrics, optimizers, schedules) -> trainer's YAML component specs."""
from __future__ import annotations

import re
from typing import Any

import numpy as np

# Keys of a serialized object's config that say nothing trainer needs when they hold this value
# (None = any value is fine to drop: names, dtypes, bookkeeping).
DROPPED = {"name": None, "dtype": None, "reduction": "sum_over_batch_size",
           "input_axes": None, "output_axes": None, "registered_name": None,
           "use_ema": False, "ema_momentum": None, "ema_overwrite_frequency": None,
           "loss_scale_factor": None, "gradient_accumulation_steps": None}


def snake_case(class_name: str) -> str:
    """GlorotUniform -> glorot_uniform; names with acronyms stay as they are (RMSprop, SGD,
    MeanIoU): trainer's registries match either spelling."""
    if not re.fullmatch(r"([A-Z][a-z0-9]+)+", class_name):
        return class_name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()


def is_serialized(value: Any) -> bool:
    return isinstance(value, dict) and "class_name" in value and "config" in value


def component(value: Any) -> Any:
    """A serialized object -> `name` or `{type: name, ...args}`; plain values pass through
    (floats Keras stored as float32 get their short decimal form back)."""
    if is_serialized(value):
        if value["class_name"] == "__tensor__":  # a constant array, e.g. Normalization's mean
            return np.asarray(value["config"]["value"]).tolist()
        args = {k: component(v) for k, v in (value["config"] or {}).items() if not _dropped(k, v)}
        name = snake_case(value["class_name"])
        return {"type": name, **args} if args else name
    if isinstance(value, float):
        return short_float(value)
    if isinstance(value, list):
        return [component(v) for v in value]
    if isinstance(value, dict):
        return {k: component(v) for k, v in value.items()}
    return value


def _dropped(key: str, value: Any) -> bool:
    """None is Keras's "not set" (trainer's defaults say the same)."""
    if value is None:
        return True
    return key in DROPPED and (DROPPED[key] is None or value == DROPPED[key])


def short_float(value: float) -> float:
    """0.0010000000474974513 (a float32 written as float64) -> 0.001."""
    as32 = float(str(np.float32(value)))
    return as32 if np.float32(as32) == np.float32(value) and abs(as32 - value) <= 1e-7 * abs(value) else value
