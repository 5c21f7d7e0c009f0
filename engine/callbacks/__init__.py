"""Callbacks with the Keras hooks; each keeps its own state for checkpoints.
One file per family; they know nothing of each other."""
from .base import CALLBACKS, Callback, CallbackList, build_callbacks
from . import (early_stopping, model_checkpoint, csv_logger, terminate_on_nan,  # noqa: F401
               learning_rate, tensorboard)

__all__ = ["CALLBACKS", "Callback", "CallbackList", "build_callbacks"]
