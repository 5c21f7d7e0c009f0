"""Python data sources (`source: my_data.py:Name`): a class like `keras.utils.Sequence`
(`__len__`, `__getitem__(index) -> batch`, optional `on_epoch_end`) or a generator function
yielding one epoch's batches. Either is told the seed (a `seed` parameter) and a generator the
epoch (an `epoch` parameter); the user's contract is that the batches are a function of
(seed, epoch), so a resume at batch k continues exactly. Exceptions from the user's code are
reported with the user's file and line: OSError (a file missing or unreadable) as bad data
(exit 2), anything else as a bug in that code (exit 1); a malformed batch is bad data."""
from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from ...errors import ConfigError, DataError, TrainerError, UserCodeError
from ...registry import check_arguments, load_import_ref
from ..arrays import ArraySplit


def load_python_source(spec: Any, key_path: str, input_names: list[str],
                       output_names: list[str], seed: int) -> "PythonSource":
    factory = load_import_ref(spec.source, f"{key_path}.source")
    is_class = inspect.isclass(factory)
    if not is_class and not inspect.isgeneratorfunction(factory):
        raise ConfigError(f"'{spec.source}' is neither a class (a Sequence with __len__ and "
                          f"__getitem__) nor a generator function", f"{key_path}.source")
    context = ("seed",) if is_class else ("seed", "epoch")
    check_arguments(factory, spec.args, f"{key_path}.args", spec.source, context)
    source = PythonSource(spec.source, factory, dict(spec.args), seed, input_names, output_names)
    if is_class:
        source.sequence = source.call(factory, **_with(factory, spec.args, seed=seed))
        for method in ("__len__", "__getitem__"):
            if not hasattr(source.sequence, method):
                raise ConfigError(f"'{spec.source}' has no {method} (a Sequence needs __len__ "
                                  f"and __getitem__)", f"{key_path}.source")
        source.num_batches = int(source.call(len, source.sequence))
    elif spec.steps is None:
        raise ConfigError("a generator source needs 'steps' (batches per epoch)",
                          f"{key_path}.steps")
    else:
        source.num_batches = spec.steps
    if spec.limit:
        source.num_batches = min(source.num_batches, spec.limit)
    if source.num_batches == 0:
        raise DataError("the data source has no batches (its __len__ is 0)", spec.source)
    return source


def _with(function: Callable, args: dict[str, Any], **context: Any) -> dict[str, Any]:
    """`args` plus those of `context` the function declares (or takes through **kwargs)."""
    params = inspect.signature(function).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return {**args, **{k: v for k, v in context.items() if k in params or open_ended}}


@dataclass
class PythonSource:
    """One split read from the user's Python object, batch by batch. `len()` is its number of
    batches per epoch (not samples)."""
    origin: str                      # the `file.py:Name` reference, for messages
    factory: Callable
    args: dict[str, Any]
    seed: int
    input_names: list[str]
    output_names: list[str]
    sequence: Any = None             # the Sequence instance (None for a generator function)
    num_batches: int = 0
    epochs_ended: int = 0            # on_epoch_end calls made so far
    transforms: Any = field(default=None, repr=False)  # DataTransforms, set by load_data
    unit = "batches"

    def __len__(self) -> int:
        return self.num_batches

    def key(self, name: str) -> str:
        return name

    def batches(self, epoch: int, start: int = 0, stop: int | None = None,
                transformed: bool = True) -> Iterator[ArraySplit]:
        """Batches start..stop of `epoch` as host arrays (transformed unless told not to)."""
        stop = self.num_batches if stop is None else min(stop, self.num_batches)
        if self.sequence is not None:
            self._end_epochs_before(epoch)
            raw = (self.call(self.sequence.__getitem__, i) for i in range(start, stop))
        else:
            raw = self._generated(epoch, start, stop)
        for index, item in enumerate(raw, start=start):
            batch = self._as_split(item, epoch, index)
            yield self.transforms.apply(batch) if transformed and self.transforms else batch

    def passes(self, transformed: bool = True) -> Iterator[ArraySplit]:
        """Epoch 0's batches (what fitting `normalize` statistics reads)."""
        return self.batches(0, transformed=transformed)

    def preview(self) -> ArraySplit:
        """The first batch, transformed (what the pre-training checks look at)."""
        return next(self.batches(0, 0, 1))

    def _end_epochs_before(self, epoch: int) -> None:
        """Keras calls on_epoch_end after every epoch; a resumed run replays the calls the
        epochs before it made, so a Sequence that reshuffles there is where it was."""
        method = getattr(self.sequence, "on_epoch_end", None)
        while self.epochs_ended < epoch:
            if method is not None:
                self.call(method)
            self.epochs_ended += 1

    def _generated(self, epoch: int, start: int, stop: int) -> Iterator[Any]:
        generator = self.call(self.factory, **_with(self.factory, self.args, seed=self.seed,
                                                     epoch=epoch))
        try:
            for index in range(stop):
                item = self.call(next, generator, _ENDED)
                if item is _ENDED:
                    raise DataError(f"the generator ended after {index} batches of epoch "
                                    f"{epoch + 1}; steps says {self.num_batches}", self.origin)
                if index >= start:
                    yield item
        finally:
            generator.close()

    def call(self, function: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run user code; its exceptions become one message naming the user's file and line."""
        try:
            return function(*args, **kwargs)
        except TrainerError:
            raise
        except Exception as exc:  # noqa: BLE001 (anything the user's code raises)
            where = _user_frame(exc, self.origin)
            text = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, OSError):
                raise DataError(f"{text} (in the data source at {where})", self.origin) from None
            raise UserCodeError(f"{where}: the data source {self.origin} raised {text}") from None

    def _as_split(self, item: Any, epoch: int, index: int) -> ArraySplit:
        where = f"{self.origin} batch {index} of epoch {epoch + 1}"
        if isinstance(item, (tuple, list)):
            if not 1 <= len(item) <= 3:
                raise DataError(f"a batch must be x, (x, y) or (x, y, sample_weight); got a "
                                f"{type(item).__name__} of {len(item)}", where)
            x, y, weights = (*item, None, None)[:3]
        else:
            x, y, weights = item, None, None
        x_arrays = _named(x, self.input_names, "x", where)
        y_arrays = None if y is None else _named(y, self.output_names, "y", where)
        w_array = None if weights is None else _array(weights, "sample_weight", where)
        split = ArraySplit(x_arrays, y_arrays, w_array, where)
        split.check_lengths()
        return split


_ENDED = object()


def _named(value: Any, names: list[str], kind: str, where: str) -> dict[str, np.ndarray]:
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        if missing:
            raise DataError(f"the batch's {kind} has no '{missing[0]}' (keys: "
                            f"{', '.join(map(str, value)) or 'none'})", where)
        return {n: _array(value[n], n, where) for n in names}
    if len(names) != 1:
        raise DataError(f"the model has several {'inputs' if kind == 'x' else 'outputs'} "
                        f"({', '.join(names)}); give the batch's {kind} as a dict", where)
    return {names[0]: _array(value, names[0], where)}


def _array(value: Any, name: str, where: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"'{name}' is not an array ({exc})", where) from None
    if array.ndim == 0 or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(f"'{name}' must be a numeric array with one row per sample, got "
                        f"{array.dtype} of shape {list(array.shape)}", where)
    return array


def _user_frame(exc: BaseException, origin: str) -> str:
    """`file.py:line in function` of the innermost frame in the user's source file (else the
    innermost frame outside trainer itself)."""
    file_ref = origin.rpartition(":")[0]
    frames = traceback.extract_tb(exc.__traceback__)
    engine_dir = str(Path(__file__).resolve().parents[2])
    mine = [f for f in frames if Path(f.filename).name == Path(file_ref).name] or \
        [f for f in frames if not f.filename.startswith(engine_dir)] or frames
    frame = mine[-1]
    return f"{frame.filename}:{frame.lineno} in {frame.name}"
