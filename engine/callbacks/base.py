"""Callback base class, the list that fires them, and the monitor logic Keras's
EarlyStopping / ModelCheckpoint / ReduceLROnPlateau share.

A callback sees the running fit through `self.loop`, a TrainingContext (context.py: the run
directory, whether this process writes, the recipe and its models, the training progress,
saving a checkpoint, requesting a stop, warnings) once `set_loop` has been called."""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..registry import Registry
from .context import TrainingContext

CALLBACKS = Registry("callback")

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")
_LEGACY_BATCH_HOOKS = {"on_train_batch_begin": "on_batch_begin",
                       "on_train_batch_end": "on_batch_end"}


class Callback:
    loop: TrainingContext | None = None
    key_path = "fit.callbacks"  # set by build_callbacks to this callback's place in the config
    uses_batch_hooks = True     # False: skip this instance's batch hooks (e.g. save_freq epoch)
    verbose = 0

    def say(self, message: str) -> None:
        """Keras's verbose messages: always in train.log, on screen when verbose > 0."""
        self.loop.note(message)
        if self.verbose:
            print(message, flush=True)

    def set_loop(self, loop: TrainingContext) -> None:
        self.loop = loop

    def config_error(self, message: str, argument: str = "") -> ConfigError:
        """A ConfigError pointing at this callback (or one of its arguments) in the YAML."""
        key_path = f"{self.key_path}.{argument}" if argument else self.key_path
        if self.loop is not None:
            return self.loop.config_error(message, key_path)
        return ConfigError(message, key_path)

    @property
    def model(self) -> Any:
        return self.loop.recipe.models[self.loop.main_model]

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    # As in Keras, the train-batch hooks default to the older on_batch_* names.
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    def state_dict(self) -> dict[str, Any]:
        """What this callback needs to continue exactly after a resume."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


CALLBACKS.expects = (Callback,)


def _overrides(callback: Callback, hook: str) -> bool:
    if not callback.uses_batch_hooks:
        return False
    names = (hook, _LEGACY_BATCH_HOOKS[hook]) if hook in _LEGACY_BATCH_HOOKS else (hook,)
    return any(getattr(type(callback), n) is not getattr(Callback, n) for n in names)


class CallbackList:
    """Fires hooks in order. Batch hooks go only to callbacks that override them, so a step
    with no batch-level callback pays nothing. Train-batch logs are lazy (MetricLogs): a
    callback that reads a value waits for the device; one that does not, costs nothing."""

    def __init__(self, callbacks: list[Callback]):
        self.callbacks = list(callbacks)
        self._batch = {hook: [getattr(c, hook) for c in self.callbacks if _overrides(c, hook)]
                       for hook in _BATCH_HOOKS}

    def set_loop(self, loop: TrainingContext) -> None:
        for callback in self.callbacks:
            callback.set_loop(loop)

    def has_batch_hooks(self, hook: str) -> bool:
        return bool(self._batch[hook])

    def __getattr__(self, hook: str):
        if hook in _BATCH_HOOKS:
            targets = self._batch[hook]
        elif hook.startswith("on_"):
            targets = [getattr(c, hook) for c in self.callbacks]
        else:
            raise AttributeError(hook)

        def fire(*args: Any) -> None:
            for target in targets:
                target(*args)
        return fire

    def state_dict(self) -> list[dict[str, Any]]:
        return [{"type": type(c).__name__, "state": c.state_dict()} for c in self.callbacks]

    def load_state_dict(self, states: list[dict[str, Any]]) -> None:
        for callback, saved in zip(self.callbacks, states):
            if saved["type"] == type(callback).__name__:
                callback.load_state_dict(saved["state"])


def build_callbacks(specs: list[Any]) -> list[Callback]:
    """Built-in names or user classes (`module:Name`, `file.py:Name`) subclassing Callback."""
    out = []
    for i, spec in enumerate(specs):
        callback = CALLBACKS.build(spec, f"fit.callbacks[{i}]")
        if not isinstance(callback, Callback):
            raise ConfigError("does not build a trainer Callback (subclass "
                              "trainer.engine.callbacks.Callback)", f"fit.callbacks[{i}]")
        callback.key_path = f"fit.callbacks[{i}]"
        out.append(callback)
    return out


class MonitorCallback(Callback):
    """Keras's monitor logic: mode auto/min/max, min_delta, baseline. The direction for
    mode auto is settled when the loop is set, so an unknown one is a config error."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be auto, min or max, got '{mode}'")
        self.monitor = monitor
        self.mode = mode
        self.baseline = baseline
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def set_loop(self, loop: TrainingContext) -> None:
        super().set_loop(loop)
        self._set_monitor_op()

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            direction = self.loop.metric_direction(self.monitor)
            if direction is None:
                raise self.config_error(
                    f"cannot tell whether '{self.monitor}' should go up or down; set mode: min "
                    f"or mode: max", "monitor")
            self.monitor_op = operator.gt if direction == "up" else operator.lt
        self._signed_delta = -self.min_delta if self.monitor_op is operator.lt else self.min_delta

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        # Keras compares as float32 tensors; so do we, so that near-ties break the same way.
        return bool(self.monitor_op(np.float32(value - self._signed_delta), np.float32(reference)))
