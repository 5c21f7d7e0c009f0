"""Building an nn.Module from a Sequential or functional YAML spec, with shape inference,
graph checks and a Keras-style summary. Knows nothing of data or optimizers. User layers call
`add_loss` (from here) to add a loss term during their forward."""
from .added_losses import add_loss
from .builder import build_model
from .layers import LAYERS, Layer
from .model import GraphModel
from .summary import summarize

__all__ = ["GraphModel", "LAYERS", "Layer", "add_loss", "build_model", "summarize"]
