"""`torch.export` of an ExportedModel with a dynamic batch axis, and, when that fails, which
layer of the graph cannot be exported and why."""
from __future__ import annotations

import contextlib
import io
import logging
from typing import Iterator

import torch
from torch import nn

from ..errors import ExportError
from ..graph import GraphModel
from .preprocess import ExportedModel


def export_program(module: ExportedModel, inputs: tuple[torch.Tensor, ...]
                   ) -> torch.export.ExportedProgram:
    with quiet_torch_logs():
        try:
            return torch.export.export(module, inputs,
                                       dynamic_shapes=(dynamic_axes(module, inputs),), strict=False)
        except Exception as exc:  # noqa: BLE001 - torch.export raises many kinds; we name the layer
            raise ExportError(_failure(module, inputs, exc)) from None


@contextlib.contextmanager
def quiet_torch_logs() -> Iterator[None]:
    """torch's exporters log hints ("torchvision is not installed") and print partial graphs
    to stderr when they fail; the user gets our one-line verdict instead."""
    loggers = [logging.getLogger("torch")] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
        if name.startswith("torch.")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def dynamic_axes(module: ExportedModel, inputs: tuple[torch.Tensor, ...]) -> tuple[dict, ...]:
    """The batch axis of every input (one Dim: the batch is shared), and the model's variable
    axes (None in its input shapes) of inputs that reach the model untransformed."""
    batch = torch.export.Dim("batch")
    axes = []
    for name, x in zip(module.input_names, inputs):
        spec = {0: batch}
        if name not in module.preprocess:
            for axis, size in enumerate(module.model.input_shapes[name], start=1):
                if size is None:
                    spec[axis] = torch.export.Dim.AUTO
        axes.append(spec)
    return tuple(axes)


def _failure(module: ExportedModel, inputs: tuple[torch.Tensor, ...], exc: Exception) -> str:
    """The first layer (in graph order) that torch.export cannot take on its own inputs."""
    model: GraphModel = module.model
    values = dict(zip(module.input_names, inputs))
    with torch.no_grad():
        values = {name: (module.preprocess[name](x) if name in module.preprocess else x)
                  for name, x in values.items()}
        for node in model.nodes:
            layer = model.layers[node.layer]
            args = [values[r] for r in node.inputs]
            probe = _Call(layer, node.multi_input)
            try:
                torch.export.export(probe, tuple(args), strict=False)
            except Exception as layer_exc:  # noqa: BLE001
                return (f"layer '{node.name}' ({node.type}) cannot be exported: "
                        f"{_first_line(layer_exc)}")
            values[node.name] = probe(*args)
    return f"the model cannot be exported: {_first_line(exc)}"


class _Call(nn.Module):
    def __init__(self, layer: nn.Module, multi: bool):
        super().__init__()
        self.layer, self.multi = layer, multi

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.layer(list(xs)) if self.multi else self.layer(xs[0])


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[0][:300] if lines else type(exc).__name__)
