"""Reads a Keras 3 `.keras` file with the standard library and h5py only: config.json (the
model and its compile config) and model.weights.h5 (each layer's variables in order)."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import KerasImportError


@dataclass
class KerasArchive:
    model: dict[str, Any]                    # config.json: {class_name, config, compile_config}
    weights: dict[str, list[np.ndarray]]     # weight group (see weight_groups) -> variables
    keras_version: str | None


def read_archive(path: Path) -> KerasArchive:
    path = Path(path)
    if not path.is_file():
        raise KerasImportError(f"{path}: file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [n for n in ("config.json", "model.weights.h5") if n not in names]
            if missing:
                raise KerasImportError(f"{path}: not a Keras 3 .keras file (it lacks "
                                       f"{', '.join(missing)})")
            model = json.loads(archive.read("config.json"))
            metadata = json.loads(archive.read("metadata.json")) if "metadata.json" in names else {}
            weights = _layer_variables(io.BytesIO(archive.read("model.weights.h5")))
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise KerasImportError(f"{path}: not a readable .keras file ({exc})") from None
    if not isinstance(model, dict) or "config" not in model:
        raise KerasImportError(f"{path}: config.json holds no model config")
    return KerasArchive(model, weights, metadata.get("keras_version"))


def _layer_variables(buffer: io.BytesIO) -> dict[str, list[np.ndarray]]:
    """`layers/<name>/vars/<i>`, then those of its `cell` (recurrent layers), in index order."""
    out: dict[str, list[np.ndarray]] = {}
    with h5py.File(buffer, "r") as handle:
        layers = handle.get("layers")
        if layers is None:
            return out
        for name, group in layers.items():
            values: list[np.ndarray] = []
            for sub in (group, group.get("cell")):
                variables = sub.get("vars") if sub is not None else None
                if variables is not None:
                    values += [variables[k][()] for k in sorted(variables, key=int)]
            out[name] = values
    return out
