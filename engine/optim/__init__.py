"""Keras-equivalent optimizers, learning-rate schedules and gradient clipping.

`build_optimizer` returns a `TrainOptimizer`: a torch optimizer implementing the Keras update,
plus the schedule (stepped per batch, as Keras does) and clipping. Knows nothing of the loop."""
from .base import OPTIMIZERS, TrainOptimizer, build_optimizer
from .schedules import SCHEDULES, Schedule
from . import keras_rules  # noqa: F401  (registers the catalogue entries)

__all__ = ["OPTIMIZERS", "SCHEDULES", "Schedule", "TrainOptimizer", "build_optimizer"]
