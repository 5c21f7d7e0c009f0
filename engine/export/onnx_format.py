"""`.onnx` exports through torch's torch.export-based exporter (opset 18, a dynamic batch axis,
inputs and outputs named like the model's), run back with onnxruntime."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import ExportError
from .extra import require
from .tracing import quiet_torch_logs

OPSET = 18  # widely served (onnxruntime >= 1.14) and covers every op the layer catalogue emits


def save_onnx(path: Path, program: torch.export.ExportedProgram, input_names: list[str],
              output_names: list[str]) -> None:
    require("onnxscript")
    try:
        with warnings.catch_warnings(), quiet_torch_logs():
            warnings.simplefilter("ignore")
            onnx_program = torch.onnx.export(program, (), dynamo=True, opset_version=OPSET,
                                             input_names=input_names, output_names=output_names,
                                             verbose=False)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise ExportError(f"the ONNX exporter cannot convert the model: {first[:300]}") from None
    _name_batch_axis(onnx_program.model)
    onnx_program.save(str(path))


def _name_batch_axis(model) -> None:
    """The exporter calls the batch axis after its symbol (`s21`); serving tools show `batch`."""
    onnx_ir = require("onnx_ir")
    graph = model.graph
    symbols = {v.shape[0] for v in graph.inputs if v.shape is not None and len(v.shape)
               and not isinstance(v.shape[0], int)}
    for value in [*graph.inputs, *graph.outputs]:
        if value.shape is not None and len(value.shape) and value.shape[0] in symbols:
            value.shape = onnx_ir.Shape(["batch", *value.shape[1:]])


def is_onnx_export(path: Path) -> bool:
    return Path(path).suffix.lower() == ".onnx"


class OnnxRunner:
    """An onnxruntime session on the CPU: raw input arrays by name -> outputs by name."""

    def __init__(self, path: Path):
        onnxruntime = require("onnxruntime")
        try:
            self.session = onnxruntime.InferenceSession(str(path),
                                                        providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors have no common base
            raise ExportError(f"{path}: onnxruntime cannot load it ({str(exc)[:300]})") from None
        self.inputs = {i.name: _NUMPY[i.type] for i in self.session.get_inputs()}
        self.shapes = {i.name: list(i.shape[1:]) for i in self.session.get_inputs()}
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {name: np.ascontiguousarray(arrays[name]).astype(dtype, copy=False)
                for name, dtype in self.inputs.items()}
        return dict(zip(self.output_names, self.session.run(self.output_names, feed)))


_NUMPY = {"tensor(float)": np.float32, "tensor(double)": np.float64,
          "tensor(float16)": np.float16, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
          "tensor(int16)": np.int16, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
          "tensor(bool)": np.bool_}
