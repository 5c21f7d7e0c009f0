"""Reading exports back for `trainer predict` / `evaluate` and for the parity check: a
safetensors export gives a checkpoint-shaped state (so the checkpoint code path serves it),
an ONNX export runs in onnxruntime over batches of raw inputs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data.prediction_files import read_inputs
from ..errors import DataError
from ..state.checkpoint import load_checkpoint
from .onnx_format import OnnxRunner, is_onnx_export
from .safetensors_format import is_safetensors_export, load_safetensors

ONNX_BATCH = 32  # an ONNX file has no config to name a predict batch size


def read_model_state(path: Path) -> dict[str, Any]:
    """A trainer checkpoint, or a safetensors export read as one (config, models, data)."""
    return load_safetensors(path) if is_safetensors_export(path) else load_checkpoint(path)


def predict_onnx(path: Path, inputs: dict[str, np.ndarray], batch_size: int,
                 runner: OnnxRunner | None = None) -> dict[str, np.ndarray]:
    """Outputs by name for raw inputs by name (the export applies the transforms itself)."""
    runner = runner or OnnxRunner(path)
    missing = [name for name in runner.inputs if name not in inputs]
    if missing:
        raise DataError(f"the ONNX model takes inputs {', '.join(runner.inputs)}; missing "
                        f"{', '.join(missing)}", str(path))
    for name, expected in runner.shapes.items():
        got = list(inputs[name].shape[1:])
        if len(got) != len(expected) or any(isinstance(e, int) and e != g
                                            for e, g in zip(expected, got)):
            raise DataError(f"inputs for '{name}' have shape {got} per sample; the ONNX model "
                            f"expects {expected}", str(path))
    count = len(next(iter(inputs.values())))
    parts = [runner({k: v[start:start + batch_size] for k, v in inputs.items()})
             for start in range(0, count, batch_size)]
    return {name: np.concatenate([p[name] for p in parts]) for name in runner.output_names}


def predict_onnx_file(path: Path, input_file: Path, batch_size: int | None) -> dict[str, np.ndarray]:
    """`trainer predict` of an ONNX export: the inputs are read by the graph's input names."""
    runner = OnnxRunner(path)
    inputs = read_inputs(input_file, list(runner.inputs))
    return predict_onnx(path, inputs, batch_size or ONNX_BATCH, runner)


__all__ = ["is_onnx_export", "predict_onnx", "predict_onnx_file", "read_model_state"]
