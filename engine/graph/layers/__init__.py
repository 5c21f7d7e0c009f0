"""The layer catalogue: Keras names and arguments -> `Layer` modules built lazily for a known
input shape (shapes exclude the batch axis, channels-first), so nobody writes `in_features`."""
from . import (activation, attention, augmentation, conv, core, merge, normalization,  # noqa: F401 (register)
               pooling, recurrent)
from .base import Layer, Shape, WeightRule
from .registry import LAYERS

__all__ = ["LAYERS", "Layer", "Shape", "WeightRule"]
