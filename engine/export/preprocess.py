"""The input transforms of `data.transforms` as tensor operations, so that an exported program
starts from the raw arrays `trainer predict` reads (scale, reshape, cast, channels_first,
normalize with its fitted statistics, one_hot), and the module an export traces: raw inputs in
the model's input order -> the model's outputs as a tuple in its output order."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.transforms import steps
from ..data.transforms.pipelines import DataTransforms
from ..errors import ExportError
from ..graph import GraphModel


class TensorStep(nn.Module):
    """One transform step on a batch tensor, equal to its NumPy step on the same array."""

    def __init__(self, factory: Callable, args: dict[str, Any], fitted: Any, where: str):
        super().__init__()
        self.kind = _KINDS.get(factory)
        if self.kind is None:
            name = getattr(factory, "__name__", str(factory))
            raise ExportError(f"{where}: transform '{name}' has no tensor form, so it cannot be "
                              f"part of an export (use the built-in transforms, or transform "
                              f"the inputs before they reach the exported model)")
        self.args = args
        if self.kind == "normalize":
            std = np.maximum(np.sqrt(fitted.variance), np.float32(steps.EPSILON))
            self.register_buffer("mean", torch.as_tensor(fitted.mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        elif self.kind == "cast":
            self.dtype = _TORCH_DTYPES[np.dtype(args["dtype"])]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "scale":
            x = x.float() * self.args["factor"]
            return x + self.args["offset"] if self.args.get("offset") else x
        if self.kind == "reshape":
            return x.reshape(x.shape[0], *self.args["shape"])
        if self.kind == "cast":
            return x.to(self.dtype)
        if self.kind == "channels_first":
            return x.movedim(-1, 1).contiguous()
        if self.kind == "one_hot":
            return F.one_hot(x.reshape(x.shape[0]).long(), self.args["num_classes"]).float()
        return (x.float() - self.mean) / self.std


_KINDS = {steps.scale: "scale", steps.reshape: "reshape", steps.cast: "cast",
          steps.channels_first: "channels_first", steps.one_hot: "one_hot",
          steps.Normalize: "normalize"}
_TORCH_DTYPES = {np.dtype(k): v for k, v in (
    ("float16", torch.float16), ("float32", torch.float32), ("float64", torch.float64),
    ("int8", torch.int8), ("uint8", torch.uint8), ("int16", torch.int16),
    ("int32", torch.int32), ("int64", torch.int64), ("bool", torch.bool))}


class ExportedModel(nn.Module):
    """Raw inputs (positional, in `model.input_names` order) -> transformed -> the model ->
    a tuple of outputs in `model.output_names` order."""

    def __init__(self, model: GraphModel, transforms: DataTransforms):
        super().__init__()
        self.model = model
        self.input_names = list(model.input_names)
        self.output_names = list(model.output_names)
        self.preprocess = nn.ModuleDict()
        for name in self.input_names:
            pipeline = transforms.pipeline(name, "x")
            if pipeline is None:
                continue
            key = name if name in transforms.pipelines else "x"
            self.preprocess[name] = nn.Sequential(*(
                TensorStep(factory, args, step, f"data.transforms.{key}[{i}]")
                for i, ((factory, args), step) in enumerate(zip(pipeline.specs, pipeline.steps))))

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        values = {}
        for name, x in zip(self.input_names, inputs):
            values[name] = self.preprocess[name](x) if name in self.preprocess else x
        out = self.model(values[self.input_names[0]] if len(values) == 1 else values)
        if isinstance(out, dict):
            return tuple(out[name] for name in self.output_names)
        return (out,)
