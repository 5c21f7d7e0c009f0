"""The layer catalogue's registry (Keras names -> Layer classes)."""
from torch import nn

from ...registry import Registry

LAYERS = Registry("layer", expects=(nn.Module,))
