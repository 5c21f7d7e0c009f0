"""The layer catalogue's registry (Keras names -> Layer classes)."""
from ...registry import Registry

LAYERS = Registry("layer")
