"""Keras-style `model.summary()` rows: name, type, output shape, parameters."""
from __future__ import annotations

from dataclasses import dataclass

from .model import GraphModel


@dataclass(frozen=True)
class SummaryRow:
    name: str
    type: str
    output_shape: tuple
    params: int


@dataclass(frozen=True)
class Summary:
    rows: list[SummaryRow]
    total: int
    trainable: int
    non_trainable: int

    def format(self) -> str:
        header = ("Layer (type)", "Output Shape", "Param #")
        cells = [(f"{r.name} ({r.type})", str([None, *r.output_shape]), f"{r.params:,}")
                 for r in self.rows]
        widths = [max(len(c[i]) for c in [header, *cells]) for i in range(3)]
        line = "  ".join("{:<%d}" % w for w in widths)
        rule = "-" * (sum(widths) + 4)
        out = [line.format(*header), rule, *(line.format(*c) for c in cells), rule,
               f"Total params: {self.total:,}", f"Trainable params: {self.trainable:,}",
               f"Non-trainable params: {self.non_trainable:,}"]
        return "\n".join(out)


def summarize(model: GraphModel) -> Summary:
    rows = []
    for node in model.nodes:
        layer = model.layers[node.layer]
        rows.append(SummaryRow(node.name, model.layer_types[node.layer], model.node_shapes[node.name],
                               sum(p.numel() for p in layer.parameters())
                               + sum(b.numel() for b in layer.buffers() if b.is_floating_point())))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    frozen += sum(b.numel() for b in model.buffers() if b.is_floating_point())
    return Summary(rows, trainable + frozen, trainable, frozen)
