"""The train / validation / test splits of an experiment: loaded, cut (`validation_split`),
transforms fitted on the training part only, then applied (eagerly in memory, lazily for
streamed files and Python data sources), and `class_weight` turned into the training split's
sample weights."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, DataError
from .arrays import ArraySplit
from .budget import memory_budget
from .class_weights import class_weight_table, weigh_samples
from .notes import collected_notes
from .raw_inputs import describe
from .transforms.pipelines import DataTransforms
from .sources import PythonSource, load_split
from .sources.hdf5_stream import StreamSplit

Split = ArraySplit | StreamSplit | PythonSource


@dataclass
class DataSplits:
    train: Split | None
    validation: Split | None
    test: Split | None
    transforms: DataTransforms | None = None
    allow_nan: bool = False
    raw_inputs: dict[str, Any] | None = None  # dtype and range of the raw training inputs
    class_names: list[str] | None = None  # of the training labels (an image folder's classes)
    notes: list[str] = field(default_factory=list)  # for the run's log (files skipped, ...)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps: the fitted transform statistics, what the raw training
        inputs looked like, and the class names."""
        return {"transforms": self.transforms.state_dict() if self.transforms else {},
                "raw_inputs": self.raw_inputs or {}, "class_names": self.class_names}


def load_data(data_cfg: Any, fit_cfg: Any, input_names: list[str], output_names: list[str],
              which: tuple[str, ...] = ("train", "validation", "test"),
              state: dict[str, Any] | None = None, output_units: int | None = None,
              seed: int = 0) -> DataSplits:
    """`state` (a checkpoint's `data` entry) supplies fitted statistics instead of the train
    split. `output_units`: the single output's last dimension, the classes `class_weight` knows.
    `seed` (the experiment's) is what Python data sources are told."""
    with collected_notes() as notes:
        data = _load_data(data_cfg, fit_cfg, input_names, output_names, which, state,
                          output_units, seed)
    data.notes = notes
    return data


def _load_data(data_cfg: Any, fit_cfg: Any, input_names: list[str], output_names: list[str],
               which: tuple[str, ...], state: dict[str, Any] | None, output_units: int | None,
               seed: int) -> DataSplits:
    transforms = DataTransforms(data_cfg.transforms, input_names, output_names)
    if state:
        transforms.load_state_dict(state.get("transforms", {}))
    budget = memory_budget(data_cfg.memory_budget)

    def load(name: str) -> Split | None:
        spec = getattr(data_cfg, name)
        if spec is None:
            return None
        return load_split(spec, f"data.{name}", input_names, output_names, budget, seed)

    train = load("train") if ("train" in which or "validation" in which) else None
    validation = load("validation") if "validation" in which else None
    if fit_cfg.validation_split and train is not None:
        if data_cfg.validation is not None:
            raise ConfigError("give either data.validation or fit.validation_split, not both",
                              "fit.validation_split")
        if isinstance(train, PythonSource) or data_cfg.train.source == "image_folder":
            raise ConfigError(f"fit.validation_split cuts arrays; for source "
                              f"{data_cfg.train.source} give data.validation (an image folder: "
                              f"validation_split and subset on the source, as in Keras)",
                              "fit.validation_split")
        # Keras: the last fraction of the arrays, before any shuffling.
        cut = int(len(train) * (1.0 - fit_cfg.validation_split))
        if cut == 0 or cut == len(train):
            raise DataError(f"validation_split {fit_cfg.validation_split} leaves an empty split "
                            f"of {len(train)} samples", train.origin)
        train, validation = train.slice(0, cut), train.slice(cut)
    test = load("test") if "test" in which else None
    raw_inputs = describe(train) if train is not None else (state or {}).get("raw_inputs", {})
    transforms.fit(train)
    class_names = getattr(train, "class_names", None) or (state or {}).get("class_names")
    train = _transformed(train if "train" in which else None, transforms)
    if train is not None and fit_cfg.class_weight is not None:
        if isinstance(train, PythonSource):
            raise ConfigError("class_weight needs the labels before training; a Python data "
                              "source can return (x, y, sample_weight) batches instead",
                              "fit.class_weight")
        table = class_weight_table(fit_cfg.class_weight, train.y, output_units)
        if isinstance(train, StreamSplit):
            train.class_weights = table
        else:
            train = weigh_samples(train, table)
    return DataSplits(train, _transformed(validation, transforms), _transformed(test, transforms),
                      transforms, data_cfg.allow_nan, raw_inputs, class_names)


def transform_inputs(split: ArraySplit, data_cfg: Any, model: Any,
                     state: dict[str, Any] | None = None) -> ArraySplit:
    """Apply the config's input transforms (statistics from a checkpoint's `data` state) to
    arrays given at predict time."""
    transforms = DataTransforms(data_cfg.transforms, model.input_names, model.output_names)
    if state:
        transforms.load_state_dict(state.get("transforms", {}))
    return transforms.apply(split)


def _transformed(split: Split | None, transforms: DataTransforms) -> Split | None:
    if split is None:
        return None
    if not isinstance(split, ArraySplit):  # streamed, or a Python source: batch by batch
        split.transforms = transforms
        return split
    return transforms.apply(split)
