"""Building an nn.Module from a Sequential or functional YAML spec, with shape inference
and a Keras-style summary. Knows nothing of data or optimizers."""
from .model import GraphModel, build_model
from .summary import summarize

__all__ = ["GraphModel", "build_model", "summarize"]
