"""The raw input batch an export is checked on: the first rows of `--sample FILE`, or of the
config's test, validation or train data (the first that exists), before any transform."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data import ArraySplit, load_split
from ..data.budget import memory_budget
from ..data.prediction_files import read_inputs
from ..errors import ExportError

SAMPLE_ROWS = 16


def sample_inputs(experiment: Any, input_names: list[str], output_names: list[str],
                  sample: Path | None, rows: int = SAMPLE_ROWS) -> dict[str, np.ndarray]:
    if sample is not None:
        arrays = read_inputs(sample, input_names)
    else:
        arrays = _from_config(experiment, input_names, output_names, rows)
    arrays = {name: array[:rows] for name, array in arrays.items()}
    if min(len(a) for a in arrays.values()) == 0:
        raise ExportError("the inputs to check the export on hold no rows")
    if min(len(a) for a in arrays.values()) < 2:
        # torch.export specialises a batch axis of size 1; two rows keep it dynamic.
        arrays = {name: np.concatenate([a, a])[:max(2, len(a))] for name, a in arrays.items()}
    return arrays


def _from_config(experiment: Any, input_names: list[str], output_names: list[str],
                 rows: int) -> dict[str, np.ndarray]:
    data = experiment.config.data
    for split in ("test", "validation", "train"):
        spec = getattr(data, split)
        if spec is None:
            continue
        loaded = load_split(spec, f"data.{split}", input_names, output_names,
                            memory_budget(data.memory_budget))
        if not isinstance(loaded, ArraySplit):  # streamed HDF5: its first chunk
            loaded = next(loaded.passes(transformed=False))
        if len(loaded):
            return loaded.slice(0, rows).x
    raise ExportError("the config has no data to check the export on: give --sample FILE "
                      "(inputs as for trainer predict)")
