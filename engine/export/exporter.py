"""`trainer export`: a checkpoint's model (with its input transforms) to a safetensors, ONNX or
torch.export (.pt2) file, checked against the checkpoint's own predictions on real inputs
before the file is put in place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data.iteration.device_batches import to_tensor
from ..errors import ExportError
from ..inference import load_for_inference, predict_arrays
from .onnx_format import OPSET, save_onnx
from .parity import DEFAULT_TOLERANCE, Difference, check, compare
from .preprocess import ExportedModel
from .pt2_format import load_pt2, save_pt2
from .safetensors_format import save_safetensors
from .samples import sample_inputs
from .serving import predict_onnx
from .tracing import export_program

FORMATS = {"safetensors": ".safetensors", "onnx": ".onnx", "pt2": ".pt2"}


@dataclass
class ExportReport:
    format: str
    output: Path
    rows: int
    differences: list[Difference]
    notes: list[str] = field(default_factory=list)


def export_checkpoint(checkpoint: Path, fmt: str, output: Path, sample: Path | None = None,
                      tolerance: float = DEFAULT_TOLERANCE) -> ExportReport:
    if fmt not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    output = Path(output)
    if output.suffix.lower() != FORMATS[fmt]:
        raise ExportError(f"{output}: a {fmt} export is a {FORMATS[fmt]} file")
    components, experiment = load_for_inference(Path(checkpoint), None, "cpu", ())
    _check_exportable(components)
    model = components.models[components.main_model]
    raw = sample_inputs(experiment, model.input_names, model.output_names, sample)
    batch = len(next(iter(raw.values())))
    reference = predict_arrays(Path(checkpoint), raw, batch, "cpu")

    temporary = output.with_name(f".{output.stem}.{os.getpid()}.tmp{output.suffix}")
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        actual, notes = _WRITERS[fmt](temporary, model, components, experiment, raw)
        differences = compare(reference, actual)
        check(differences, tolerance, f"the {fmt} export")
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)
    return ExportReport(fmt, output, batch, differences, notes)


def _check_exportable(components: Any) -> None:
    from trainer.recipes.supervised import Supervised
    recipe = type(components.recipe)
    if not issubclass(recipe, Supervised) or recipe.predict_step is not Supervised.predict_step:
        raise ExportError(f"recipe {recipe.__name__} predicts with its own predict_step; an "
                          f"export holds a model whose outputs are the predictions (the "
                          f"supervised recipe)")


def _write_safetensors(path: Path, model, components, experiment, raw):
    save_safetensors(path, model.state_dict(), experiment.resolved,
                     components.data.transforms.state_dict())
    return predict_arrays(path, raw, len(next(iter(raw.values()))), "cpu"), []


def _traced(model, components, raw) -> tuple[torch.export.ExportedProgram, tuple]:
    module = ExportedModel(model, components.data.transforms).eval()
    inputs = tuple(to_tensor(raw[name], torch.device("cpu")) for name in module.input_names)
    return export_program(module, inputs), inputs


def _write_onnx(path: Path, model, components, experiment, raw):
    program, _ = _traced(model, components, raw)
    save_onnx(path, program, model.input_names, model.output_names)
    return predict_onnx(path, raw, len(next(iter(raw.values())))), [f"opset {OPSET}"]


def _write_pt2(path: Path, model, components, experiment, raw):
    program, inputs = _traced(model, components, raw)
    save_pt2(path, program)
    with torch.no_grad():
        outputs = load_pt2(path)(*inputs)
    return {name: out.numpy() for name, out in zip(model.output_names, outputs)}, []


_WRITERS = {"safetensors": _write_safetensors, "onnx": _write_onnx, "pt2": _write_pt2}


