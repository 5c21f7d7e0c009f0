"""The train / validation / test splits of an experiment, transformed and ready to batch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from .arrays import ArraySplit
from .sources import load_split
from .transforms import build_transforms


@dataclass
class DataSplits:
    train: ArraySplit | None
    validation: ArraySplit | None
    test: ArraySplit | None


def load_data(data_cfg: Any, fit_cfg: Any, input_names: list[str], output_names: list[str],
              which: tuple[str, ...] = ("train", "validation", "test")) -> DataSplits:
    transforms = {key: build_transforms(specs, f"data.transforms.{key}")
                  for key, specs in data_cfg.transforms.items()}

    def load(name: str) -> ArraySplit | None:
        spec = getattr(data_cfg, name)
        if spec is None:
            return None
        split = load_split(spec, f"data.{name}", input_names, output_names)
        return _transform(split, transforms, input_names, output_names)

    train = load("train") if ("train" in which or "validation" in which) else None
    validation = load("validation") if "validation" in which else None
    if fit_cfg.validation_split and train is not None:
        if data_cfg.validation is not None:
            raise ConfigError("give either data.validation or fit.validation_split, not both",
                              "fit.validation_split")
        # Keras: the last fraction of the arrays, before any shuffling.
        cut = int(len(train) * (1.0 - fit_cfg.validation_split))
        if cut == 0 or cut == len(train):
            raise DataError(f"validation_split {fit_cfg.validation_split} leaves an empty split "
                            f"of {len(train)} samples", train.origin)
        train, validation = train.slice(0, cut), train.slice(cut)
    test = load("test") if "test" in which else None
    return DataSplits(train if "train" in which else None, validation, test)


def transform_inputs(split: ArraySplit, data_cfg: Any, model: Any) -> ArraySplit:
    """Apply the config's input transforms to arrays given at predict time."""
    transforms = {key: build_transforms(specs, f"data.transforms.{key}")
                  for key, specs in data_cfg.transforms.items()}
    return _transform(split, transforms, model.input_names, model.output_names)


def _transform(split: ArraySplit, transforms: dict[str, list], input_names: list[str],
               output_names: list[str]) -> ArraySplit:
    def apply(arrays: dict[str, np.ndarray], generic: str, names: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for name, array in arrays.items():
            steps = transforms.get(name) or (transforms.get(generic, []) if len(names) == 1 else [])
            for step in steps:
                array = step(array)
            out[name] = array
        return out

    y = None if split.y is None else apply(split.y, "y", output_names)
    return ArraySplit(apply(split.x, "x", input_names), y, split.sample_weight, split.origin)
