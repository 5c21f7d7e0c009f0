"""From a model config to a checked, built graph: parses layer entries (Sequential when layers
omit `inputs`), resolves references, orders the nodes, builds each layer for its inferred input
shape, and reports every graph mistake as a ConfigError naming layers, shapes and key paths.

Shared layers: an entry `{name: b, shares: a, inputs: x2}` applies layer `a`'s weights again.
User layers (by import path) with several `inputs` receive them as a list; one that returns a
tuple or list of tensors has several outputs, referred to as `name[0]`, `name[1]`, ...
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import split_spec, suggest
from .layers import LAYERS, Layer, Shape
from .layers.external import build_module, is_torch_module, torch_module_class
from .model import GraphModel, Node
from .regularizers import get_regularizer

# `name[i]`: output i of a layer with several outputs.
OUTPUT_REF = re.compile(r"^(?P<layer>.+)\[(?P<index>\d+)\]$")

# Keys every layer entry may carry besides the layer's own arguments.
GRAPH_KEYS = ("name", "inputs", "shares", "activity_regularizer", "trainable")


@dataclass
class Entry:
    """One layer entry of the config."""
    name: str
    path: str
    type_name: Optional[str]   # None for a `shares` entry
    args: dict[str, Any]
    inputs: list[str]
    shares: Optional[str] = None
    activity_regularizer: Any = None
    trainable: bool = True
    explicit_inputs: bool = field(default=False)

    @property
    def external(self) -> bool:
        """A user layer named by import path (it may take several inputs, return several
        outputs and call `add_loss`)."""
        return self.type_name is not None and ":" in self.type_name


def layer_of(ref: str) -> str:
    """The layer a reference reads: `m[1]` -> `m`."""
    match = OUTPUT_REF.match(ref)
    return match["layer"] if match else ref


def build_model(config: Any, key_path: str = "model") -> GraphModel:
    """Build from a ModelConfig (or an equivalent dict)."""
    cfg = config if isinstance(config, dict) else config.model_dump()
    input_shapes: dict[str, Shape] = {name: tuple(shape) for name, shape in cfg["inputs"].items()}
    if not input_shapes:
        raise ConfigError("a model needs at least one input", f"{key_path}.inputs")
    if not cfg["layers"]:
        raise ConfigError("a model needs at least one layer", f"{key_path}.layers")
    entries = parse_entries(cfg["layers"], input_shapes, key_path)
    by_name = {e.name: e for e in entries}
    check_references(entries, by_name, input_shapes, key_path)
    outputs = output_names(cfg.get("outputs"), entries, by_name, input_shapes, key_path)
    order = topological_order(entries, by_name)
    return assemble(input_shapes, order, by_name, outputs)


def parse_entries(specs: list[Any], input_shapes: dict[str, Shape], key_path: str) -> list[Entry]:
    entries: list[Entry] = []
    taken = set(input_shapes)
    counts: dict[str, int] = {}
    previous = next(iter(input_shapes)) if len(input_shapes) == 1 else None
    for index, spec in enumerate(specs):
        path = f"{key_path}.layers[{index}]"
        if isinstance(spec, dict) and "shares" in spec and "type" not in spec:
            type_name, args = None, dict(spec)
        else:
            type_name, args = split_spec(spec, path, "layer")
            args = dict(args)
        graph = {k: args.pop(k) for k in GRAPH_KEYS if k in args}
        if type_name is None and args:
            extra = next(iter(args))
            raise ConfigError(f"a 'shares' entry reuses another layer as it is; it takes only "
                              f"{', '.join(GRAPH_KEYS[:3])} (got '{extra}')", f"{path}.{extra}")
        if "shares" in graph and type_name is not None:
            raise ConfigError("an entry with 'shares' reuses that layer: drop 'type' and the "
                              "layer arguments", f"{path}.shares")
        name = graph.get("name") or _default_name(type_name or f"{graph['shares']}_shared", counts, taken)
        if not isinstance(name, str) or not name or "." in name:
            raise ConfigError("a layer name must be a non-empty string without '.'", f"{path}.name")
        if name in taken:
            what = "a model input" if name in input_shapes else "another layer"
            raise ConfigError(f"layer name '{name}' is already used by {what}", f"{path}.name")
        taken.add(name)
        inputs = graph.get("inputs")
        if inputs is None:
            if previous is None:
                raise ConfigError(f"layer '{name}' must name its 'inputs' (the model has several "
                                  f"inputs: {', '.join(input_shapes)})", path)
            inputs = [previous]
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        if not inputs or not all(isinstance(i, str) for i in inputs):
            raise ConfigError("'inputs' must be a name or a list of names", f"{path}.inputs")
        trainable = graph.get("trainable", True)
        if not isinstance(trainable, bool):
            raise ConfigError("'trainable' must be true or false", f"{path}.trainable")
        entries.append(Entry(name, path, type_name, args, inputs, graph.get("shares"),
                             get_regularizer_at(graph.get("activity_regularizer"), path),
                             trainable, "inputs" in graph))
        previous = name
    return entries


def get_regularizer_at(spec: Any, path: str) -> Any:
    try:
        return get_regularizer(spec, "activity_regularizer")
    except ConfigError as exc:
        raise relocated(exc, path) from None


def _default_name(type_name: str, counts: dict[str, int], taken: set[str]) -> str:
    """Keras-style: dense, dense_1, dense_2, ..."""
    base = re.split(r"[.:/]", type_name)[-1]
    base = re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", base)).lower()
    while True:
        n = counts.get(base, 0)
        counts[base] = n + 1
        name = base if n == 0 else f"{base}_{n}"
        if name not in taken:
            return name


def check_references(entries: list[Entry], by_name: dict[str, Entry],
                     input_shapes: dict[str, Shape], key_path: str) -> None:
    known = [*input_shapes, *by_name]
    used: set[str] = set()
    for entry in entries:
        for ref in entry.inputs:
            if ref not in input_shapes and layer_of(ref) not in by_name:
                raise ConfigError(f"layer '{entry.name}' takes input '{ref}', which is neither a "
                                  f"model input nor a layer{suggest(ref, known)}",
                                  f"{entry.path}.inputs")
            used.add(ref)
        if entry.shares is not None:
            owner = by_name.get(entry.shares)
            if owner is None:
                raise ConfigError(f"layer '{entry.name}' shares '{entry.shares}', which is not a "
                                  f"layer{suggest(entry.shares, list(by_name))}", f"{entry.path}.shares")
            if owner.shares is not None:
                entry.shares = owner.shares  # share the original, not the other reuse
    unused = [name for name in input_shapes if name not in used]
    if unused:
        raise ConfigError(f"model input '{unused[0]}' is not used by any layer (give a layer "
                          f"'inputs: {unused[0]}', or remove the input)", f"{key_path}.inputs.{unused[0]}")


def output_names(spec: Any, entries: list[Entry], by_name: dict[str, Entry],
                 input_shapes: dict[str, Shape], key_path: str) -> list[str]:
    outputs = [entries[-1].name] if spec is None else [spec] if isinstance(spec, str) else list(spec)
    if not outputs:
        raise ConfigError("'outputs' must name at least one layer", f"{key_path}.outputs")
    for i, out in enumerate(outputs):
        if layer_of(out) not in by_name:
            hint = " (it is a model input)" if out in input_shapes else suggest(out, list(by_name))
            where = f"{key_path}.outputs" + (f"[{i}]" if not isinstance(spec, str) else "")
            raise ConfigError(f"output '{out}' is not a layer name{hint}", where)
    if len(set(outputs)) != len(outputs):
        raise ConfigError("an output is listed twice", f"{key_path}.outputs")
    return outputs


def topological_order(entries: list[Entry], by_name: dict[str, Entry]) -> list[Entry]:
    """Nodes after everything they read (and after the layer they share); list order otherwise.
    A cycle is reported as 'a -> b -> a'."""
    order: list[Entry] = []
    state: dict[str, str] = {}  # name -> "visiting" | "done"

    def visit(entry: Entry, trail: list[str]) -> None:
        if state.get(entry.name) == "done":
            return
        if state.get(entry.name) == "visiting":
            cycle = trail[trail.index(entry.name):] + [entry.name]
            raise ConfigError(f"the graph has a cycle: {' -> '.join(cycle)}", f"{entry.path}.inputs")
        state[entry.name] = "visiting"
        deps = [*map(layer_of, entry.inputs), *([entry.shares] if entry.shares else [])]
        for dep in deps:
            if dep in by_name:
                visit(by_name[dep], [*trail, entry.name])
        state[entry.name] = "done"
        order.append(entry)

    for entry in entries:
        visit(entry, [])
    return order


def assemble(input_shapes: dict[str, Shape], order: list[Entry], by_name: dict[str, Entry],
             outputs: list[str]) -> GraphModel:
    shapes: dict[str, Any] = dict(input_shapes)  # a multi-output node: a list of shapes
    layers = nn.ModuleDict()
    nodes: list[Node] = []
    for entry in order:
        in_shapes = [input_shape(ref, shapes, entry, by_name) for ref in entry.inputs]
        owner = entry.shares or entry.name
        if entry.shares is None:
            layers[owner] = create_layer(entry, in_shapes)
        layer = layers[owner]
        external = (by_name[entry.shares] if entry.shares else entry).external
        multi = layer.multi_input or (external and len(in_shapes) > 1)
        if not multi and len(in_shapes) != 1:
            raise ConfigError(f"layer '{entry.name}' ({layer_type(entry, by_name)}) takes one "
                              f"input, got {len(in_shapes)}: {', '.join(entry.inputs)}",
                              f"{entry.path}.inputs")
        try:
            if entry.shares is None:
                layer.build(in_shapes if multi else in_shapes[0])
            shape = probe_output_shape(layer, in_shapes, multi, external)
        except ConfigError as exc:
            raise relocated(exc, entry.path) from None
        except (ValueError, RuntimeError, IndexError, TypeError) as exc:
            shown = ", ".join(f"'{ref}' {_show(shapes[ref])}" for ref in entry.inputs)
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"layer '{entry.name}' ({layer_type(entry, by_name)}) cannot take "
                              f"input {shown}: {message}", entry.path) from None
        shapes[entry.name] = shape
        output_refs: tuple[str, ...] = ()
        if isinstance(shape, list):
            output_refs = tuple(f"{entry.name}[{i}]" for i in range(len(shape)))
            shapes.update(zip(output_refs, shape))
            if entry.activity_regularizer is not None:
                raise ConfigError(f"layer '{entry.name}' has {len(shape)} outputs; put the "
                                  f"activity_regularizer on a layer that reads one of them",
                                  f"{entry.path}.activity_regularizer")
        if not entry.trainable:
            for param in layer.parameters():
                param.requires_grad_(False)
        nodes.append(Node(entry.name, owner, tuple(entry.inputs), multi,
                          layer_type(entry, by_name), entry.activity_regularizer, output_refs,
                          external))
    for i, out in enumerate(outputs):
        input_shape(out, shapes, None, by_name, f"outputs[{i}]")
    return GraphModel(input_shapes, nodes, layers, outputs, shapes)


def input_shape(ref: str, shapes: dict[str, Any], entry: Entry | None, by_name: dict[str, Entry],
                where: str = "") -> Shape:
    """The shape `ref` carries; refuses `m` for a multi-output layer and `m[i]` out of range."""
    shape = shapes.get(ref)
    reader = f"layer '{entry.name}'" if entry else "the model"
    path = f"{entry.path}.inputs" if entry else f"{_model_path(by_name)}.{where}"
    if isinstance(shape, list):
        raise ConfigError(f"{reader} reads '{ref}', which has {len(shape)} outputs; name one "
                          f"as {ref}[0] .. {ref}[{len(shape) - 1}]", path)
    if shape is None:
        layer = layer_of(ref)
        count = len(shapes[layer]) if isinstance(shapes.get(layer), list) else 1
        raise ConfigError(f"{reader} reads '{ref}', but layer '{layer}' has "
                          f"{'only ' if count > 1 else ''}{count} output"
                          f"{'s' if count > 1 else ''}" +
                          (f" (refer to it as '{layer}')" if count == 1 else ""), path)
    return shape


def _model_path(by_name: dict[str, Entry]) -> str:
    return next(iter(by_name.values())).path.split(".layers[")[0]


def create_layer(entry: Entry, in_shapes: list[Shape]) -> Layer:
    """A catalogue layer, a `torch.nn.X` module, or a user layer by import path."""
    type_name, path = entry.type_name, entry.path
    try:
        if is_torch_module(type_name):
            cls = torch_module_class(type_name, f"{path}.type")
            return build_module(cls, entry.args, in_shapes[0], path, f"layer '{type_name}'")
        if type_name in LAYERS or ":" not in type_name:
            return LAYERS.build({"type": type_name, **entry.args}, path)
        factory = LAYERS.lookup(type_name, f"{path}.type")
        shape = in_shapes[0] if len(in_shapes) == 1 else in_shapes
        return build_module(factory, entry.args, shape, path, f"layer '{type_name}'",
                            keep_outputs=True)
    except ConfigError as exc:
        raise relocated(exc, path) from None


def relocated(exc: ConfigError, path: str) -> ConfigError:
    """Errors raised inside a layer name only its argument (`kernel_initializer`): prefix the
    layer's key path."""
    if not exc.key_path.startswith(path.split(".")[0] + "."):
        exc.key_path = f"{path}.{exc.key_path}" if exc.key_path else path
    return exc


def layer_type(entry: Entry, by_name: dict[str, Entry]) -> str:
    if entry.shares is not None:
        return f"{by_name[entry.shares].type_name}, shares {entry.shares}"
    return entry.type_name


def _show(shape: Shape) -> str:
    return "[" + ", ".join("null" if d is None else str(d) for d in shape) + "]"


def probe_output_shape(layer: nn.Module, in_shapes: list[Shape], multi: bool,
                       several_outputs: bool = False) -> Shape | list[Shape]:
    """Run the layer once on zeros (batch 2, eval mode, no grad) to read its output shape.
    Variable axes (None) are probed with two sizes; output axes that change stay None.
    A user layer (`several_outputs`) returning a tuple or list of tensors gets a list of shapes."""
    def run(size: int) -> list[tuple[int, ...]] | tuple[int, ...]:
        xs = [torch.zeros(2, *[size if d is None else d for d in s]) for s in in_shapes]
        was_training = layer.training
        layer.eval()
        try:
            with torch.no_grad():
                out = layer(xs if multi else xs[0])
        finally:
            layer.train(was_training)
        if several_outputs and isinstance(out, (tuple, list)) and len(out) > 1:
            if not all(isinstance(o, torch.Tensor) for o in out):
                raise TypeError("the layer returned a sequence that is not all tensors")
            return [tuple(o.shape[1:]) for o in out]
        if several_outputs and isinstance(out, (tuple, list)) and len(out) == 1:
            out = out[0]
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the layer returned {type(out).__name__}, not a tensor")
        return tuple(out.shape[1:])

    first = run(16)
    if not any(None in s for s in in_shapes):
        return first
    second = run(23)
    if isinstance(first, list):
        if len(first) != len(second):
            raise ValueError("the number of outputs depends on the input length")
        return [_merge(a, b) for a, b in zip(first, second)]
    return _merge(first, second)


def _merge(first: tuple, second: tuple) -> Shape:
    if len(first) != len(second):
        raise ValueError("the output rank depends on the input length")
    return tuple(a if a == b else None for a, b in zip(first, second))
