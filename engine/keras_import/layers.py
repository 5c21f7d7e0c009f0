"""What each Keras layer class becomes in trainer: the catalogue layer, how it treats the
channels axis (Keras is channels-last, trainer channels-first), the Keras-only arguments it may
drop, and how its saved weights become trainer's state-dict tensors."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

ANY = object()  # a Keras-only argument that changes nothing trainer computes, whatever its value

# Keras-only arguments trainer may drop when they hold this value (ANY: any value).
KERAS_ONLY = {
    "seed": ANY, "noise_shape": None, "lora_rank": None, "lora_alpha": None,
    "quantization_config": None, "synchronized": False, "renorm": False,
    "renorm_clipping": None, "renorm_momentum": ANY, "return_state": False, "stateful": False,
    "unroll": ANY, "zero_output_for_mask": ANY, "recurrent_dropout": 0.0, "mask_zero": False,
    "input_length": ANY, "implementation": ANY, "time_major": False, "use_cudnn": ANY,
    "sparse": False, "ragged": False, "optional": False, "data_format": "channels_last",
}

# How a layer meets the channels axis:
#   spatial  - needs channels-first input (Conv, Pooling, SpatialDropout); its output is too
#   pooled   - needs channels-first input; its output has no spatial axes (global pooling)
#   any      - element-wise: takes either layout and keeps it (all inputs alike)
#   axis     - takes either layout; its `axis` argument is moved with the channels axis
#   keras    - needs Keras's own layout (Dense, Flatten, Reshape, recurrent layers, ...)
Weights = Callable[[dict[str, Any], list[np.ndarray]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Rule:
    type: str
    layout: str = "keras"
    weights: Optional[Weights] = None
    defaults: dict[str, Any] = field(default_factory=dict)  # arguments trainer defaults differently


def _dense(cfg, v):
    return _named(["kernel", "bias"], [v[0].T, *v[1:]])


def _conv(cfg, v):
    rank = v[0].ndim - 2  # Keras [*k, in, out] (transposed: [*k, out, in]) -> torch [out|in, in|out, *k]
    return _named(["kernel", "bias"], [v[0].transpose(rank + 1, rank, *range(rank)), *v[1:]])


def _depthwise(cfg, v):
    return _named(["depthwise_kernel", "bias"], [v[0].transpose(2, 3, 0, 1), *v[1:]])


def _separable(cfg, v):
    return _named(["depthwise_kernel", "pointwise_kernel", "bias"],
                  [v[0].transpose(2, 3, 0, 1), v[1].transpose(3, 2, 0, 1), *v[2:]])


def _scale_shift(cfg, v):
    names = [n for n, on in (("gamma", cfg.get("scale", True)), ("beta", cfg.get("center", True))) if on]
    return _named(names + ["moving_mean", "moving_variance"], v)


def _embedding(cfg, v):
    return {"embeddings": v[0]}


def _recurrent(cfg, v):
    return _named(["kernel", "recurrent_kernel", "bias"], [v[0].T, v[1].T, *v[2:]])


def _gru(cfg, v):
    """Keras gates z, r, h; torch's (and trainer's) r, z, n. Bias [2, 3u]: input, recurrent."""
    def reorder(a):
        z, r, h = np.split(a, 3, axis=-1)
        return np.concatenate([r, z, h], axis=-1)
    out = {"kernel": reorder(v[0]).T, "recurrent_kernel": reorder(v[1]).T}
    if len(v) > 2:
        out["bias"], out["recurrent_bias"] = reorder(v[2][0]), reorder(v[2][1])
    return out


def _named(names: list[str], values: list[np.ndarray]) -> dict[str, np.ndarray]:
    return dict(zip(names, values))


RULES: dict[str, Rule] = {
    "Dense": Rule("Dense", weights=_dense),
    "Embedding": Rule("Embedding", weights=_embedding),
    "Flatten": Rule("Flatten"),
    "Reshape": Rule("Reshape"),
    "Permute": Rule("Permute"),
    "RepeatVector": Rule("RepeatVector"),
    "Dropout": Rule("Dropout", "any"),
    "GaussianNoise": Rule("GaussianNoise", "any"),
    "GaussianDropout": Rule("GaussianDropout", "any"),
    "Activation": Rule("Activation", "any"),
    "ReLU": Rule("ReLU", "any"),
    "LeakyReLU": Rule("LeakyReLU", "any"),
    "ELU": Rule("ELU", "any"),
    "Softmax": Rule("Softmax", "axis", defaults={"axis": -1}),
    "Rescaling": Rule("Rescaling", "any"),
    "Add": Rule("Add", "any"), "Subtract": Rule("Subtract", "any"),
    "Multiply": Rule("Multiply", "any"), "Average": Rule("Average", "any"),
    "Maximum": Rule("Maximum", "any"), "Minimum": Rule("Minimum", "any"),
    "Concatenate": Rule("Concatenate", "axis", defaults={"axis": -1}),
    "BatchNormalization": Rule("BatchNormalization", "axis", _scale_shift, {"axis": -1}),
    "LayerNormalization": Rule("LayerNormalization", weights=lambda c, v: _named(
        [n for n, on in (("gamma", c.get("scale", True)), ("beta", c.get("center", True))) if on], v)),
    "LSTM": Rule("LSTM", weights=_recurrent),
    "GRU": Rule("GRU", weights=_gru),
    "SimpleRNN": Rule("SimpleRNN", weights=_recurrent),
    "DepthwiseConv2D": Rule("DepthwiseConv2D", "spatial", _depthwise),
    "SeparableConv2D": Rule("SeparableConv2D", "spatial", _separable),
}
for _rank in (1, 2, 3):
    for _name in (f"Conv{_rank}D", f"Conv{_rank}DTranspose"):
        RULES[_name] = Rule(_name, "spatial", _conv)
    for _name in (f"MaxPooling{_rank}D", f"AveragePooling{_rank}D"):
        RULES[_name] = Rule(_name, "spatial")
    for _name in (f"GlobalMaxPooling{_rank}D", f"GlobalAveragePooling{_rank}D"):
        RULES[_name] = Rule(_name, "pooled")
    RULES[f"SpatialDropout{_rank}D"] = Rule(f"SpatialDropout{_rank}D", "spatial")
# Keras's aliases
for _alias, _name in (("Convolution2D", "Conv2D"), ("MaxPool2D", "MaxPooling2D"),
                      ("AvgPool2D", "AveragePooling2D"), ("Convolution1D", "Conv1D"),
                      ("MaxPool1D", "MaxPooling1D"), ("AvgPool1D", "AveragePooling1D"),
                      ("GlobalAvgPool2D", "GlobalAveragePooling2D"),
                      ("GlobalMaxPool2D", "GlobalMaxPooling2D")):
    RULES[_alias] = RULES[_name]


def channels_axis_map(rank: int) -> dict[int, int]:
    """Keras axis (batch = 0) of a channels-last tensor with `rank` non-batch axes -> the same
    axis of its channels-first form."""
    return {rank: 1, **{i: i + 1 for i in range(1, rank)}}
