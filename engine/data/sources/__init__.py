"""Sources, one reader per file format or built-in data set: a SplitSpec -> the split's raw
arrays keyed by the model's input and output names (an ArraySplit in memory, a StreamSplit
for an HDF5 file or image folder above the memory budget, or a PythonSource for the user's
own `file.py:Name`)."""
from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from .array_files import load_array_files, load_npz
from ..arrays import ArraySplit
from .concat import load_concat
from .csv_files import load_csv
from .image_folder import load_image_folder
from .hdf5_files import load_hdf5
from .mnist import load_mnist
from .hdf5_stream import StreamSplit
from .python_source import PythonSource, load_python_source
from .synthetic import generate


def load_split(spec: Any, key_path: str, input_names: list[str], output_names: list[str],
               budget: int, seed: int = 0) -> ArraySplit | StreamSplit | PythonSource:
    """`seed` (the experiment's) is what a Python data source is told."""
    if ":" in spec.source:
        return load_python_source(spec, key_path, input_names, output_names, seed)
    if spec.source == "image_folder":
        split = load_image_folder(spec, key_path, input_names, output_names, budget)
    elif spec.source == "concat":
        split = load_concat(spec, key_path, lambda part, path: load_split(
            part, path, input_names, output_names, budget, seed))
    elif spec.source == "hdf5":
        split = load_hdf5(spec, key_path, input_names, output_names, budget)
    elif spec.source == "npz":
        split = load_npz(spec, key_path, input_names, output_names)
    elif spec.source in ("npy", "idx"):
        split = load_array_files(spec, key_path, input_names, output_names)
    elif spec.source == "csv":
        split = load_csv(spec, key_path, input_names, output_names)
    elif spec.source == "mnist":
        if spec.split is None:
            raise ConfigError("source mnist needs 'split: train' or 'split: test'", f"{key_path}.split")
        images, labels = load_mnist(spec.split)
        split = ArraySplit({input_names[0]: images}, {output_names[0]: labels}, None,
                           f"mnist {spec.split}")
    elif spec.source == "synthetic":
        if spec.generator is None:
            raise ConfigError("source synthetic needs 'generator' (linear, classification, "
                              "regression or multi_io)", f"{key_path}.generator")
        split = generate(spec.generator, spec.samples or 1000, spec.features, spec.classes,
                         spec.noise, 0 if spec.seed is None else spec.seed, input_names, output_names)
    else:
        raise ConfigError(f"source '{spec.source}' is not supported", f"{key_path}.source")
    if isinstance(split, ArraySplit):
        split.check_lengths()
    if spec.source == "image_folder":  # it applied `limit` to its file list
        return split
    return split.slice(0, spec.limit) if spec.limit else split
