"""The search space: one parameter per config key path (`{log_uniform: [1e-4, 1e-1]}`,
`{int: [16, 256], step: 16}`, `{uniform: [0, 1]}`, `{choice: [32, 64]}`), checked and sampled."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

KINDS = ("uniform", "log_uniform", "int", "choice")
_OPTIONS = {"uniform": ("step",), "log_uniform": (), "int": ("step", "log"), "choice": ()}


@dataclass(frozen=True)
class Param:
    path: str          # the config key path it sets, also its Optuna parameter name
    kind: str
    low: Any = None
    high: Any = None
    step: Any = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial: Any) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.path, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.path, self.low, self.high, step=self.step or 1,
                                     log=self.log)
        return trial.suggest_float(self.path, self.low, self.high, step=self.step,
                                   log=self.kind == "log_uniform")

    def corners(self) -> list[Any]:
        """The values that bound what a trial can be given (each is checked against the config)."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]

    def grid(self) -> list[Any] | None:
        """Every value, for the grid sampler; None when the range is continuous."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int" and not self.log:
            return list(range(self.low, self.high + 1, self.step or 1))
        if self.kind == "uniform" and self.step:
            count = int(round((self.high - self.low) / self.step))
            return [self.low + i * self.step for i in range(count + 1)]
        return None


def parse_space(space: Any, where: Any) -> list[Param]:
    """`where(key_path)` gives the file:line of a key of the sweep file."""
    if not isinstance(space, dict) or not space:
        raise ConfigError("expected a mapping of config key path -> range, e.g. "
                          "compile.optimizer.learning_rate: {log_uniform: [1e-4, 1e-1]}",
                          "space", where("space"))
    return [_param(str(path), spec, f"space.{path}", where) for path, spec in space.items()]


def _param(path: str, spec: Any, key: str, where: Any) -> Param:
    def fail(message: str) -> ConfigError:
        return ConfigError(message, key, where(key))

    kinds = [k for k in KINDS if isinstance(spec, dict) and k in spec]
    if len(kinds) != 1:
        raise fail(f"expected exactly one of {', '.join(KINDS)} (e.g. {{log_uniform: [1e-4, 1e-1]}})")
    kind = kinds[0]
    unknown = [k for k in spec if k not in (kind, *_OPTIONS[kind])]
    if unknown:
        allowed = ", ".join(_OPTIONS[kind]) or "nothing else"
        raise fail(f"unknown option '{unknown[0]}' for {kind} (allowed: {allowed})")
    values = spec[kind]
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise fail("choice expects a non-empty list of values")
        if any(v is not None and not isinstance(v, (bool, int, float, str)) for v in values):
            raise fail("choice values must be numbers, strings, booleans or null")
        return Param(path, kind, choices=tuple(values))
    if not (isinstance(values, list) and len(values) == 2
            and all(_is_number(v) for v in values)):
        raise fail(f"{kind} expects [low, high] (two numbers), got {values!r}")
    low, high = values
    step, log = spec.get("step"), bool(spec.get("log", False))
    if kind == "int":
        if not all(isinstance(v, int) for v in (low, high)):
            raise fail(f"int expects two integers, got {values!r}")
        if step is not None and (not isinstance(step, int) or step < 1):
            raise fail(f"step must be a positive integer, got {step!r}")
        if step and log:
            raise fail("int takes either step or log: true, not both")
    elif step is not None and (not _is_number(step) or step <= 0):
        raise fail(f"step must be a positive number, got {step!r}")
    if not low < high:
        raise fail(f"low must be below high, got [{low}, {high}]")
    if (kind == "log_uniform" or log) and low <= 0:
        raise fail(f"a log range needs low > 0, got {low}")
    if kind != "int":
        low, high = float(low), float(high)
    return Param(path, kind, low, high, step, log)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
