"""`trainer summary --plot FILE.png`: a picture of a model's graph, like Keras's `plot_model`.

One box per model input and layer (name, type, output shape), arrows from each layer to the
layers that read it, laid out in rows by depth (inputs on top, each layer one row below the
deepest layer it reads), ordered within a row to follow its inputs. Drawn with matplotlib (the
`plot` extra); no graphviz or other system program is needed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import TrainerError
from .graph.builder import layer_of
from .graph.model import GraphModel
from .graph.summary import format_shape
from .plots import INSTALL_HINT, matplotlib_available, save_png

BOX_WIDTH, BOX_HEIGHT = 3.3, 0.95   # in inches (one data unit)
COLUMN, ROW = 3.8, 1.55


def graph_boxes(model: GraphModel) -> tuple[dict[str, tuple[str, str, Any]], list[tuple[str, str, str]]]:
    """(name -> (name, type, shape), edges (from, to, label)) of the model's graph."""
    boxes = {name: (name, "InputLayer", shape) for name, shape in model.input_shapes.items()}
    labels: dict[tuple[str, str], list[str]] = {}  # one arrow per pair, naming outputs read
    for node in model.nodes:
        kind = node.type.split(":")[-1]  # a user layer by its class name, not its file
        boxes[node.name] = (node.name, kind, model.node_shapes[node.name])
        for ref in node.inputs:
            source = layer_of(ref)
            labels.setdefault((source, node.name), []).append(ref[len(source):])  # "[1]" or ""
    edges = [(source, target, " ".join(p for p in parts if p))
             for (source, target), parts in labels.items()]
    return boxes, edges


def layout(boxes: dict[str, Any], edges: list[tuple[str, str, str]]) -> dict[str, tuple[float, float]]:
    """(x, y) centre of each box: rows by depth, each row ordered by its inputs' mean x."""
    parents: dict[str, list[str]] = {name: [] for name in boxes}
    for source, target, _ in edges:
        parents[target].append(source)
    depth: dict[str, int] = {}
    for name in boxes:  # boxes are in topological order
        depth[name] = 1 + max((depth[p] for p in parents[name]), default=-1)
    rows: dict[int, list[str]] = {}
    for name in boxes:
        rows.setdefault(depth[name], []).append(name)
    position: dict[str, tuple[float, float]] = {}
    for level in sorted(rows):
        names = rows[level]
        if level > 0:
            names.sort(key=lambda n: sum(position[p][0] for p in parents[n]) / len(parents[n]))
        for i, name in enumerate(names):
            position[name] = ((i - (len(names) - 1) / 2) * COLUMN, -level * ROW)
    return position


def plot_model(model: GraphModel, title: str, path: Path) -> Path:
    if not matplotlib_available():
        raise TrainerError(f"--plot needs matplotlib: {INSTALL_HINT}")
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    boxes, edges = graph_boxes(model)
    position = layout(boxes, edges)
    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    width = max(xs) - min(xs) + BOX_WIDTH + 0.6
    height = max(ys) - min(ys) + BOX_HEIGHT + 0.9
    figure = Figure(figsize=(width, height))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(min(xs) - BOX_WIDTH / 2 - 0.3, max(xs) + BOX_WIDTH / 2 + 0.3)
    ax.set_ylim(min(ys) - BOX_HEIGHT / 2 - 0.3, max(ys) + BOX_HEIGHT / 2 + 0.6)
    ax.axis("off")
    ax.text((min(xs) + max(xs)) / 2, max(ys) + BOX_HEIGHT / 2 + 0.3, title, ha="center",
            va="center", fontsize=11, fontweight="bold")
    outputs = set(model.output_names)
    for source, target, label in edges:
        (x0, y0), (x1, y1) = position[source], position[target]
        ax.annotate("", xy=(x1, y1 + BOX_HEIGHT / 2), xytext=(x0, y0 - BOX_HEIGHT / 2),
                    arrowprops={"arrowstyle": "-|>", "color": "0.35", "lw": 1.1,
                                "shrinkA": 0, "shrinkB": 0})
        if label:
            ax.text(x0 + 0.25 * (x1 - x0), y0 - BOX_HEIGHT / 2 - 0.2 * (y0 - y1 - BOX_HEIGHT),
                    label, fontsize=8, color="0.25", ha="center", va="center",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"})
    for name, (label, kind, shape) in boxes.items():
        x, y = position[name]
        is_input = kind == "InputLayer"
        is_output = name in outputs or any(layer_of(o) == name for o in outputs)
        colour = "#dbe9f6" if is_input else "#fde8c8" if is_output else "#f2f2f2"
        ax.add_patch(FancyBboxPatch((x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT,
                                    boxstyle="round,pad=0.02,rounding_size=0.08", fc=colour,
                                    ec="black", lw=2.0 if is_output else 1.0))
        ax.text(x, y + 0.2, f"{label} ({kind})", ha="center", va="center", fontsize=9,
                fontweight="bold")
        ax.text(x, y - 0.17, f"output: {format_shape(shape)}", ha="center", va="center",
                fontsize=8.5, family="monospace")
    save_png(figure, path)
    return path
