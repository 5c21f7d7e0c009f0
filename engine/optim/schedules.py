"""Learning-rate schedules by Keras name: lr as a function of the optimizer's step count."""
from __future__ import annotations

from ..registry import Registry

SCHEDULES = Registry("learning-rate schedule")


class Schedule:
    def __call__(self, step: int) -> float:
        raise NotImplementedError


@SCHEDULES.register("ExponentialDecay")
class ExponentialDecay(Schedule):
    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False):
        if decay_steps <= 0:
            raise ValueError("decay_steps must be positive")
        self.initial, self.decay_steps, self.rate, self.staircase = (
            float(initial_learning_rate), decay_steps, float(decay_rate), staircase)

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        return self.initial * self.rate ** (int(p) if self.staircase else p)
