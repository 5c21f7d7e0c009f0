"""DataTransforms: the `data.transforms` pipelines of an experiment, matched to model inputs
and outputs (`x` / `y` for a single one, or by name), fitted on the training split, applied to
whole splits or streamed chunks, and saved/restored with the checkpoint."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ...errors import ConfigError, DataError
from ...registry import suggest
from ..arrays import ArraySplit
from .steps import Pipeline, build_pipeline

FIT_CHUNK_ROWS = 65536


class DataTransforms:
    def __init__(self, specs: dict[str, list[Any]], input_names: list[str], output_names: list[str]):
        known = [*input_names, *output_names, "x", "y"]
        for key in specs:
            if key not in known:
                raise ConfigError(f"'{key}' is neither x, y nor a model input or output"
                                  f"{suggest(key, known)}", f"data.transforms.{key}")
            if (key == "x" and len(input_names) > 1) or (key == "y" and len(output_names) > 1):
                names = input_names if key == "x" else output_names
                raise ConfigError(f"the model has several {'inputs' if key == 'x' else 'outputs'} "
                                  f"({', '.join(names)}); name the one to transform",
                                  f"data.transforms.{key}")
        self.pipelines = {key: build_pipeline(steps, f"data.transforms.{key}")
                          for key, steps in specs.items()}
        self.names = {"x": input_names, "y": output_names}

    def pipeline(self, name: str, kind: str) -> Pipeline | None:
        if name in self.pipelines:
            return self.pipelines[name]
        return self.pipelines.get(kind) if len(self.names[kind]) == 1 else None

    def apply(self, split: ArraySplit) -> ArraySplit:
        def run(arrays: dict[str, np.ndarray], kind: str) -> dict[str, np.ndarray]:
            out = {}
            for name, array in arrays.items():
                pipeline = self.pipeline(name, kind)
                out[name] = array if pipeline is None else _located(pipeline, array, split, name)
            return out
        y = None if split.y is None else run(split.y, "y")
        return ArraySplit(run(split.x, "x"), y, split.sample_weight, split.origin, split.keys)

    def fit(self, train: Any) -> None:
        """Fit stateful steps (normalize) on the raw training split (in memory or streamed)."""
        for kind, names in self.names.items():
            for name in names:
                pipeline = self.pipeline(name, kind)
                if pipeline is not None and not pipeline.fitted:
                    if train is None:
                        raise ConfigError(f"normalize for '{name}' is fitted on the training "
                                          f"split, and there is none", "data.train")
                    pipeline.fit(lambda: _raw_chunks(train, name, kind))

    def state_dict(self) -> dict[str, list]:
        return {key: pipeline.state_dict() for key, pipeline in self.pipelines.items()}

    def load_state_dict(self, state: dict[str, list]) -> None:
        for key, pipeline in self.pipelines.items():
            if key in state:
                pipeline.load_state_dict(state[key])


def _located(pipeline: Pipeline, array: np.ndarray, split: ArraySplit, name: str) -> np.ndarray:
    """Run a pipeline; its errors name the file and key."""
    try:
        return pipeline(array)
    except DataError as exc:
        raise DataError(exc.message, exc.file or split.origin, exc.key or split.key(name)) from None
    except (TypeError, ValueError) as exc:  # e.g. arguments of the wrong type for the arrays
        raise DataError(f"transform failed on arrays of shape {list(array.shape)}: {exc}",
                        split.origin, split.key(name)) from None


def _raw_chunks(train: Any, name: str, kind: str) -> Iterator[np.ndarray]:
    if isinstance(train, ArraySplit):
        array = (train.x if kind == "x" else train.y or {}).get(name)
        if array is not None:
            for start in range(0, len(array), FIT_CHUNK_ROWS):
                yield array[start: start + FIT_CHUNK_ROWS]
        return
    for chunk in train.passes(transformed=False):
        yield (chunk.x if kind == "x" else chunk.y)[name]
