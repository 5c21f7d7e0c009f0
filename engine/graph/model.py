"""GraphModel: runs a built graph of layers. Inputs/outputs are a tensor when there is one,
else a dict keyed by input/output name. Also the hooks the training recipe calls:
`regularization_loss()` (weight and activity penalties and the `add_loss` terms of the last
forward) and `apply_constraints()` (after each optimizer step)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .added_losses import collecting
from .layers import Layer, Shape


@dataclass(frozen=True)
class Node:
    name: str                 # the node's (output's) name
    layer: str                # key into GraphModel.layers (differs from name for shared uses)
    inputs: tuple[str, ...]
    multi_input: bool
    type: str                 # shown by `trainer summary`
    activity_regularizer: Any = None
    outputs: tuple[str, ...] = ()  # `name[i]` of each output of a multi-output layer
    external: bool = False    # a user layer (it may call add_loss)


class GraphModel(nn.Module):
    def __init__(self, input_shapes: dict[str, Shape], nodes: list[Node], layers: nn.ModuleDict,
                 output_names: list[str], node_shapes: dict[str, Shape]):
        super().__init__()
        self.input_shapes = input_shapes
        self.input_names = list(input_shapes)
        self.nodes = nodes
        self.layers = layers
        self.output_names = output_names
        self.node_shapes = node_shapes
        self.output_shapes = {name: node_shapes[name] for name in output_names}
        # The hot path: one tuple per node, no attribute lookups beyond these.
        self._steps = [(n.name, layers[n.layer], n.inputs, n.multi_input, n.outputs) for n in nodes]
        self._single_input = self.input_names[0] if len(self.input_names) == 1 else None
        self._activity = [(n.name, n.activity_regularizer) for n in nodes
                          if n.activity_regularizer is not None]
        self._activity_losses: list[torch.Tensor] = []
        self._collects = any(n.external for n in nodes)  # user layers may call add_loss
        self._added_losses: list[torch.Tensor] = []
        self._penalties, self._constraints = _weight_rules(layers)
        self.register_buffer("_zero", torch.zeros(()), persistent=False)

    def forward(self, inputs: torch.Tensor | dict[str, torch.Tensor]) -> Any:
        if not self._collects:
            return self._run(inputs)
        with collecting() as added:
            out = self._run(inputs)
        self._added_losses = added
        return out

    def _run(self, inputs: torch.Tensor | dict[str, torch.Tensor]) -> Any:
        values = dict(inputs) if isinstance(inputs, dict) else {self._single_input: inputs}
        for name, layer, refs, multi, outputs in self._steps:
            out = layer([values[r] for r in refs]) if multi else layer(values[refs[0]])
            if outputs:
                values.update(zip(outputs, out))
            else:
                values[name] = out
        if self._activity:  # Keras: penalty of each output / batch size
            self._activity_losses = [reg(values[name]) / values[name].shape[0]
                                     for name, reg in self._activity]
        if len(self.output_names) == 1:
            return values[self.output_names[0]]
        return {name: values[name] for name in self.output_names}

    @property
    def has_regularization(self) -> bool:
        """Whether `regularization_loss()` can be non-zero (lets a step skip adding zero)."""
        return bool(self._penalties or self._activity or self._collects)

    def regularization_loss(self) -> torch.Tensor:
        """Sum of kernel/bias penalties on the current weights, activity penalties and
        `add_loss` terms of the last forward; a zero tensor when there are none."""
        terms = ([reg(param) for param, reg in self._penalties] + self._activity_losses
                 + self._added_losses)
        if not terms:
            return self._zero
        return torch.stack(terms).sum()

    def apply_constraints(self) -> None:
        if not self._constraints:
            return
        with torch.no_grad():
            for param, constraint, layout in self._constraints:
                param.copy_(constraint(param, layout))


def _weight_rules(layers: nn.ModuleDict) -> tuple[list[tuple], list[tuple]]:
    penalties, constraints = [], []
    for module in layers.modules():
        if not isinstance(module, Layer):
            continue
        for rule in module.weight_rules:
            param = getattr(module, rule.name)
            if rule.regularizer is not None:
                penalties.append((param, rule.regularizer))
            if rule.constraint is not None:
                constraints.append((param, rule.constraint, rule.layout))
    return penalties, constraints


__all__ = ["GraphModel", "Node"]
