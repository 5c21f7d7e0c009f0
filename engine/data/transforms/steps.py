"""Transforms declared in YAML (`data.transforms`): per-array steps applied to whole arrays (or
to each chunk of a streamed file). `normalize` is the one step with state: its mean and variance
are fitted on the training split only and travel in the checkpoint."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np
import torch

from ...errors import ConfigError, DataError
from ...registry import Registry, split_spec

TRANSFORMS = Registry("transform")
EPSILON = 1e-7  # Keras backend.epsilon(): the floor of the normalizing std


class Stateless:
    """A step that is a pure function of its array."""

    fitted = True

    def __init__(self, function: Callable[[np.ndarray], np.ndarray]):
        self.function = function

    def __call__(self, array: np.ndarray) -> np.ndarray:
        return self.function(array)


@TRANSFORMS.register("scale", "rescaling")
def scale(factor: float, offset: float = 0.0) -> Stateless:
    """x * factor + offset, as float32 (Keras Rescaling)."""
    def rescale(array: np.ndarray) -> np.ndarray:
        out = array.astype(np.float32)
        out *= np.float32(factor)
        if offset:
            out += np.float32(offset)
        return out
    return Stateless(rescale)


@TRANSFORMS.register("reshape")
def reshape(shape: list[int]) -> Stateless:
    if not isinstance(shape, list) or not all(type(d) is int for d in shape):
        raise ValueError(f"reshape takes a list of integers (-1 for one inferred axis), got {shape!r}")
    return Stateless(lambda a: a.reshape(len(a), *shape))


@TRANSFORMS.register("cast")
def cast(dtype: str) -> Stateless:
    try:
        target = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"'{dtype}' is not a NumPy dtype name (e.g. float32, int64)") from None
    return Stateless(lambda a: a.astype(target))


@TRANSFORMS.register("one_hot")
def one_hot(num_classes: int) -> Stateless:
    """Integer labels [N] or [N, 1] -> float32 [N, num_classes]."""
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")

    def encode(labels: np.ndarray) -> np.ndarray:
        flat = labels.reshape(len(labels), -1)
        if flat.shape[1] != 1:
            raise DataError(f"one_hot needs one label per sample, got shape {list(labels.shape[1:])}")
        flat = flat[:, 0]
        if len(flat) and (flat.min() < 0 or flat.max() >= num_classes
                          or not np.array_equal(flat, np.floor(flat))):
            bad = flat[(flat < 0) | (flat >= num_classes) | (flat != np.floor(flat))][0]
            raise DataError(f"label {bad} is not a class index 0..{num_classes - 1} (one_hot)")
        return np.eye(num_classes, dtype=np.float32)[flat.astype(np.int64)]
    return Stateless(encode)


@TRANSFORMS.register("channels_first", "channels_last_to_first")
def channels_first() -> Stateless:
    """[N, H, W, C] -> [N, C, H, W] (any rank: the last axis moves to axis 1)."""
    return Stateless(lambda a: np.ascontiguousarray(np.moveaxis(a, -1, 1)))


@TRANSFORMS.register("normalize", "normalization")
class Normalize:
    """(x - mean) / max(std, 1e-7), statistics per index of `axis` (Keras Normalization: axis
    counts the batch axis; -1 = per feature of the last axis; null = one mean and variance).
    Without `mean` and `variance` they are fitted on the training split."""

    def __init__(self, axis: Optional[Union[int, list[int]]] = -1,
                 mean: Optional[Union[float, list]] = None,
                 variance: Optional[Union[float, list]] = None):
        if (mean is None) != (variance is None):
            raise ValueError("give both mean and variance, or neither (fitted on the train split)")
        self.axis = axis
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.variance = None if variance is None else np.asarray(variance, dtype=np.float32)
        self._given = mean is not None

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def _reduced_axes(self, ndim: int) -> tuple[int, ...]:
        if self.axis is None:
            return tuple(range(ndim))
        kept = {a % ndim for a in ([self.axis] if isinstance(self.axis, int) else self.axis)}
        if 0 in kept:
            raise DataError("normalize axis may not be the batch axis 0")
        return tuple(a for a in range(ndim) if a not in kept)

    def fit(self, chunks: Iterable[np.ndarray]) -> None:
        """Mean and population variance over the chunks, merged chunk by chunk (Chan et al.)."""
        count, mean, m2 = 0, 0.0, 0.0
        for chunk in chunks:
            axes = self._reduced_axes(chunk.ndim)
            values = chunk.astype(np.float64)
            n = int(np.prod([chunk.shape[a] for a in axes]))
            if n == 0:
                continue
            chunk_mean = values.mean(axis=axes, keepdims=True)
            chunk_m2 = ((values - chunk_mean) ** 2).sum(axis=axes, keepdims=True)
            delta = chunk_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + chunk_m2 + delta ** 2 * (count * n / total)
            count = total
        if count == 0:
            raise DataError("normalize has no training samples to fit on")
        self.mean = np.asarray(mean, dtype=np.float32)
        self.variance = np.asarray(m2 / count, dtype=np.float32)

    def __call__(self, array: np.ndarray) -> np.ndarray:
        if self.mean is None:
            raise DataError("normalize has no statistics: they come from the training split "
                            "or the checkpoint")
        std = np.maximum(np.sqrt(self.variance), np.float32(EPSILON))
        try:
            return ((array.astype(np.float32) - self.mean) / std).astype(np.float32)
        except ValueError:
            raise DataError(f"normalize statistics of shape {list(self.mean.shape)} do not fit "
                            f"arrays of shape {list(array.shape)}") from None

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"mean": torch.from_numpy(self.mean), "variance": torch.from_numpy(self.variance)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if not self._given:
            self.mean = state["mean"].numpy()
            self.variance = state["variance"].numpy()


class Pipeline:
    """The steps for one array, in order. `specs` holds each step's factory and arguments (what
    an export translates into tensor operations)."""

    def __init__(self, steps: list[Any], specs: list[tuple[Callable, dict[str, Any]]] | None = None):
        self.steps = steps
        self.specs = specs or []

    def __call__(self, array: np.ndarray) -> np.ndarray:
        for step in self.steps:
            array = step(array)
        return array

    @property
    def fitted(self) -> bool:
        return all(step.fitted for step in self.steps)

    def fit(self, chunks: Callable[[], Iterable[np.ndarray]]) -> None:
        """Fit each unfitted step on the training chunks as the steps before it leave them
        (`chunks()` starts a new pass over the raw training arrays)."""
        for i, step in enumerate(self.steps):
            if not step.fitted:
                prefix = Pipeline(self.steps[:i])
                step.fit(prefix(chunk) for chunk in chunks())

    def state_dict(self) -> list[Any]:
        return [step.state_dict() if hasattr(step, "state_dict") else None for step in self.steps]

    def load_state_dict(self, state: list[Any]) -> None:
        for step, step_state in zip(self.steps, state):
            if step_state is not None and hasattr(step, "load_state_dict"):
                step.load_state_dict(step_state)


def build_pipeline(specs: list[Any], key_path: str) -> Pipeline:
    """A transform is `{name: argument}` (one key), `{type: name, ...args}`, or a bare name."""
    steps, parsed = [], []
    for i, spec in enumerate(specs):
        path = f"{key_path}[{i}]"
        if isinstance(spec, dict) and "type" not in spec:
            if len(spec) != 1:
                raise ConfigError("a transform is one mapping entry like {scale: 0.5}", path)
            (name, arg), = spec.items()
            factory = TRANSFORMS.lookup(name, path)
            if isinstance(arg, dict):
                args = arg
            elif arg is None or arg is True:
                args = {}
            else:
                args = {_first_param(factory, path): arg}
        else:
            name, args = split_spec(spec, path, "transform")
            factory = TRANSFORMS.lookup(name, f"{path}.type" if isinstance(spec, dict) else path)
        steps.append(TRANSFORMS.build({"type": name, **args}, path))
        parsed.append((factory, dict(args)))
    return Pipeline(steps, parsed)


def _first_param(factory: Callable, key_path: str) -> str:
    params = list(inspect.signature(factory).parameters)
    if not params:
        raise ConfigError("this transform takes no argument; write it as a bare name", key_path)
    return params[0]
