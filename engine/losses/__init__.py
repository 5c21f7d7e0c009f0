"""Keras-equivalent losses (per-sample values, sum_over_batch_size reduction) and the compiled
multi-output loss. Knows nothing of the loop."""
from .base import LOSSES, Loss, build_loss
from .compiled import CompiledLoss
from . import probabilistic  # noqa: F401  (registers the catalogue entries)

__all__ = ["LOSSES", "CompiledLoss", "Loss", "build_loss"]
