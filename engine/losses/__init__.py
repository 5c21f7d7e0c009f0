"""Keras-equivalent losses (per-sample values, sum_over_batch_size reduction) and the compiled
multi-output loss. Knows nothing of the loop."""
from .base import LOSSES, Loss, LossFunctionWrapper, build_loss
from .compiled import CompiledLoss
from . import hinge, probabilistic, regression  # noqa: F401  (register the catalogue entries)

__all__ = ["LOSSES", "CompiledLoss", "Loss", "LossFunctionWrapper", "build_loss"]
