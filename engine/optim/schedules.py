"""Learning-rate schedules by Keras name: lr as a function of the optimizer's step count,
computed on the host from the Python int `iterations` (no device work, nothing to save)."""
from __future__ import annotations

import math
from typing import Sequence

from ..registry import Registry

SCHEDULES = Registry("learning-rate schedule")


class Schedule:
    def __call__(self, step: int) -> float:
        raise NotImplementedError


SCHEDULES.expects = (Schedule,)


def _positive(value: float, name: str) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


class _RateDecay(Schedule):
    """Decays by `decay_rate` as `step / decay_steps` grows (whole periods with `staircase`)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False):
        _positive(decay_steps, "decay_steps")
        self.initial, self.decay_steps, self.rate, self.staircase = (
            float(initial_learning_rate), decay_steps, float(decay_rate), staircase)

    def periods(self, step: int) -> float:
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p


@SCHEDULES.register("ExponentialDecay")
class ExponentialDecay(_RateDecay):
    def __call__(self, step: int) -> float:
        return self.initial * self.rate ** self.periods(step)


@SCHEDULES.register("PiecewiseConstantDecay")
class PiecewiseConstantDecay(Schedule):
    """values[i] while boundaries[i-1] < step <= boundaries[i]."""

    def __init__(self, boundaries: Sequence[float], values: Sequence[float]):
        if len(boundaries) != len(values) - 1:
            raise ValueError("values must have one more entry than boundaries")
        self.boundaries, self.values = list(boundaries), [float(v) for v in values]

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


@SCHEDULES.register("PolynomialDecay")
class PolynomialDecay(Schedule):
    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False):
        _positive(decay_steps, "decay_steps")
        self.initial, self.decay_steps, self.end = (float(initial_learning_rate), decay_steps,
                                                    float(end_learning_rate))
        self.power, self.cycle = float(power), cycle

    def __call__(self, step: int) -> float:
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        return (self.initial - self.end) * (1 - step / decay_steps) ** self.power + self.end


@SCHEDULES.register("InverseTimeDecay")
class InverseTimeDecay(_RateDecay):
    def __call__(self, step: int) -> float:
        return self.initial / (1 + self.rate * self.periods(step))


def _cosine(fraction: float, alpha: float, peak: float = 1.0) -> float:
    return (1 - alpha) * 0.5 * peak * (1.0 + math.cos(math.pi * fraction)) + alpha


@SCHEDULES.register("CosineDecay")
class CosineDecay(Schedule):
    """Cosine from `initial_learning_rate` (or, after a linear warmup over `warmup_steps` to
    `warmup_target`, from the target) down to alpha * that rate over `decay_steps`."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 warmup_target: float | None = None, warmup_steps: int = 0):
        _positive(decay_steps, "decay_steps")
        self.initial, self.decay_steps, self.alpha = (float(initial_learning_rate), decay_steps,
                                                      float(alpha))
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self.initial * _cosine(min(step, self.decay_steps) / self.decay_steps, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return (self.warmup_target - self.initial) * step / self.warmup_steps + self.initial
        return self.warmup_target * _cosine((step - self.warmup_steps) / self.decay_steps,
                                            self.alpha)


@SCHEDULES.register("CosineDecayRestarts")
class CosineDecayRestarts(Schedule):
    """SGDR: cosine periods of first_decay_steps * t_mul^i, peaks scaled by m_mul^i."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0):
        _positive(first_decay_steps, "first_decay_steps")
        self.initial, self.first = float(initial_learning_rate), first_decay_steps
        self.t_mul, self.m_mul, self.alpha = float(t_mul), float(m_mul), float(alpha)

    def __call__(self, step: int) -> float:
        fraction = step / self.first
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul))
            done = (1.0 - self.t_mul ** restart) / (1.0 - self.t_mul)
            fraction = (fraction - done) / self.t_mul ** restart
        return self.initial * _cosine(fraction, self.alpha, self.m_mul ** restart)
