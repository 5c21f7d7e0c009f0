"""GraphModel: a Sequential or functional graph of catalogue layers, built from ModelConfig.

A layer without `inputs` takes the previous layer's output (or the only model input), which
makes a plain list a Sequential model. Layers naming `inputs` make a functional DAG.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import split_spec
from .layers import LAYERS, Layer

Shape = tuple[Optional[int], ...]


@dataclass(frozen=True)
class Node:
    name: str          # unique node name (the layer's `name`)
    layer: str         # key into GraphModel.layers
    inputs: tuple[str, ...]
    multi_input: bool


class GraphModel(nn.Module):
    """Runs the nodes in topological order. Inputs/outputs: a tensor when there is one,
    else a dict keyed by input/output name."""

    def __init__(self, input_shapes: dict[str, Shape], nodes: list[Node], layers: nn.ModuleDict,
                 output_names: list[str], output_shapes: dict[str, Shape], layer_types: dict[str, str]):
        super().__init__()
        self.input_shapes = input_shapes
        self.input_names = list(input_shapes)
        self.nodes = nodes
        self.layers = layers
        self.output_names = output_names
        self.output_shapes = output_shapes
        self.layer_types = layer_types
        self.node_shapes: dict[str, Shape] = dict(input_shapes)

    def forward(self, inputs: torch.Tensor | dict[str, torch.Tensor]) -> Any:
        values = inputs if isinstance(inputs, dict) else {self.input_names[0]: inputs}
        values = dict(values)
        for node in self.nodes:
            layer = self.layers[node.layer]
            if node.multi_input:
                values[node.name] = layer([values[i] for i in node.inputs])
            else:
                values[node.name] = layer(values[node.inputs[0]])
        if len(self.output_names) == 1:
            return values[self.output_names[0]]
        return {name: values[name] for name in self.output_names}


def build_model(config: Any, key_path: str = "model") -> GraphModel:
    """Build from a ModelConfig (or an equivalent dict)."""
    cfg = config if isinstance(config, dict) else config.model_dump()
    input_shapes: dict[str, Shape] = {name: tuple(shape) for name, shape in cfg["inputs"].items()}
    if not input_shapes:
        raise ConfigError("a model needs at least one input", f"{key_path}.inputs")
    shapes: dict[str, Shape] = dict(input_shapes)
    layers = nn.ModuleDict()
    layer_types: dict[str, str] = {}
    nodes: list[Node] = []
    previous = next(iter(input_shapes)) if len(input_shapes) == 1 else None
    for index, spec in enumerate(cfg["layers"]):
        path = f"{key_path}.layers[{index}]"
        type_name, args = split_spec(spec, path, "layer")
        args = dict(args)
        name = args.pop("name", None) or f"{type_name.split(':')[-1].split('.')[-1].lower()}_{index}"
        inputs = args.pop("inputs", None)
        if inputs is None:
            if previous is None:
                raise ConfigError(f"layer '{name}' must name its 'inputs' (the model has several)", path)
            inputs = [previous]
        elif isinstance(inputs, str):
            inputs = [inputs]
        for ref in inputs:
            if ref not in shapes:
                raise ConfigError(f"layer '{name}' takes input '{ref}', which is not an input "
                                  f"or an earlier layer", f"{path}.inputs")
        if name in shapes:
            raise ConfigError(f"duplicate layer name '{name}'", f"{path}.name")
        layer = LAYERS.build({"type": type_name, **args, "name": name}, path)
        in_shapes = [shapes[r] for r in inputs]
        multi = getattr(layer, "multi_input", False)
        if not multi and len(in_shapes) != 1:
            raise ConfigError(f"layer '{name}' ({type_name}) takes one input, got {len(in_shapes)}",
                              f"{path}.inputs")
        try:
            if isinstance(layer, Layer):
                layer.build(in_shapes if multi else in_shapes[0])
            shapes[name] = infer_output_shape(layer, in_shapes, multi)
        except (ValueError, RuntimeError) as exc:
            shown = ", ".join(str(list(s)) for s in in_shapes)
            raise ConfigError(f"layer '{name}' ({type_name}) cannot take input shape {shown}: {exc}",
                              path) from exc
        layers[name] = layer
        layer_types[name] = type_name
        nodes.append(Node(name, name, tuple(inputs), multi))
        previous = name
    outputs = cfg.get("outputs") or [previous]
    outputs = [outputs] if isinstance(outputs, str) else list(outputs)
    for out in outputs:
        if out not in layers:
            raise ConfigError(f"output '{out}' is not a layer name", f"{key_path}.outputs")
    model = GraphModel(input_shapes, nodes, layers, outputs, {o: shapes[o] for o in outputs}, layer_types)
    model.node_shapes = shapes
    return model


def infer_output_shape(layer: nn.Module, in_shapes: list[Shape], multi: bool) -> Shape:
    """Run the layer once on zeros (batch 2, eval mode) to read its output shape.
    Variable axes (None) are probed with two sizes; axes that follow them stay None."""
    def run(size: int) -> tuple[int, ...]:
        xs = [torch.zeros(2, *[size if d is None else d for d in s]) for s in in_shapes]
        was_training = layer.training
        layer.eval()
        try:
            with torch.no_grad():
                out = layer(xs if multi else xs[0])
        finally:
            layer.train(was_training)
        return tuple(out.shape[1:])

    first = run(7)
    if not any(None in s for s in in_shapes):
        return first
    second = run(11)
    return tuple(a if a == b else None for a, b in zip(first, second))
