"""Keras-style `model.summary()`: one row per input and node (name, type, output shape,
parameters, what it is connected to), then total, trainable and non-trainable counts.

Counts follow Keras: persistent buffers (BatchNormalization's moving statistics) are
non-trainable parameters; a shared layer's weights are counted once, at its first use.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .model import GraphModel


@dataclass(frozen=True)
class SummaryRow:
    name: str
    type: str
    output_shape: tuple
    params: int
    connected_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    rows: list[SummaryRow]
    total: int
    trainable: int
    non_trainable: int
    functional: bool

    def format(self) -> str:
        header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if self.functional else [])
        cells = [[f"{r.name} ({r.type})", format_shape(r.output_shape), f"{r.params:,}"]
                 + ([", ".join(r.connected_to)] if self.functional else []) for r in self.rows]
        widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
        line = "  ".join("{:<%d}" % w for w in widths)
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        out = [line.format(*header), rule, *(line.format(*c).rstrip() for c in cells), rule,
               f"Total params: {self.total:,}", f"Trainable params: {self.trainable:,}",
               f"Non-trainable params: {self.non_trainable:,}"]
        return "\n".join(out)


def format_shape(shape: tuple | list) -> str:
    """`(None, 4)`; a multi-output layer's list of shapes as `[(None, 4), (None, 4)]`."""
    if isinstance(shape, list):
        return "[" + ", ".join(format_shape(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in (None, *shape)) + ")"


def _stored_values(module: nn.Module) -> int:
    """Parameters plus persistent floating-point buffers (what a checkpoint stores)."""
    return sum(v.numel() for v in module.state_dict().values() if v.is_floating_point())


def summarize(model: GraphModel) -> Summary:
    previous = [model.input_names[0], *(node.name for node in model.nodes)]
    chain = all(node.inputs == (prev,) for node, prev in zip(model.nodes, previous))
    functional = not chain or len(model.input_names) > 1 or len(model.output_names) > 1
    rows = [SummaryRow(name, "InputLayer", shape, 0) for name, shape in model.input_shapes.items()
            ] if functional else []
    counted: set[str] = set()
    for node in model.nodes:
        params = 0 if node.layer in counted else _stored_values(model.layers[node.layer])
        counted.add(node.layer)
        rows.append(SummaryRow(node.name, node.type, model.node_shapes[node.name], params,
                               node.inputs))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = _stored_values(model)
    return Summary(rows, total, trainable, total - trainable, functional)
