"""The layer catalogue: Keras names and arguments -> `Layer` modules built lazily for a known
input shape (shapes exclude the batch axis, channels-first), so nobody writes `in_features`."""
from . import activation, attention, conv, core, merge, normalization, pooling, recurrent  # noqa: F401 (register)
from .base import Layer, Shape, WeightRule
from .registry import LAYERS

__all__ = ["LAYERS", "Layer", "Shape", "WeightRule"]
