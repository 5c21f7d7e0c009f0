"""A Keras model's topology (Sequential or functional config) -> trainer's `model` section and
the weights by trainer state-dict name.

Keras tensors are channels-last; trainer's spatial layers are channels-first. Each tensor keeps
the layout it has; a Permute entry is inserted where a layer needs the other one (before the
first convolution, before a Flatten or Dense after convolutions, before a spatial model
output), so the imported model takes and gives Keras's arrays, and Flatten sees Keras's order.
Each layer is built as it is added (trainer's own shape inference), so ranks are known and
every unsupported layer or argument is collected, not just the first.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..errors import ConfigError
from ..graph.builder import Entry, create_layer, probe_output_shape
from ..graph.layers import LAYERS, Shape
from .layers import ANY, KERAS_ONLY, RULES, Rule, channels_axis_map
from .serialized import component

COMMON = ("name", "trainable", "dtype", "activity_regularizer")


@dataclass
class Tensor:
    name: str                   # trainer node (or input) name
    layout: str                 # "keras" or "cf" (channels moved to axis 1)
    shape: Optional[Shape]      # trainer shape without the batch axis; None when unknown


class GraphImport:
    def __init__(self, weights: dict[str, list[np.ndarray]]):
        self.weights = weights            # Keras layer name -> its saved variables, in order
        self.inputs: dict[str, Shape] = {}
        self.entries: list[dict[str, Any]] = []
        self.built: dict[str, Any] = {}   # trainer layer name -> built layer (shape inference)
        self.state: dict[str, np.ndarray] = {}
        self.problems: list[str] = []
        self.converted: dict[tuple[str, str], Tensor] = {}
        self.taken: set[str] = set()

    # --- inputs and layers ----------------------------------------------------------------
    def add_input(self, name: str, batch_shape: list[Any]) -> Tensor:
        shape = tuple(batch_shape[1:])
        self.inputs[name] = shape
        self.taken.add(name)
        return Tensor(name, "keras", shape)

    def add_layer(self, layer: dict[str, Any], inputs: list[Tensor], call: int,
                  output_name: Optional[str] = None) -> Tensor:
        """One call of a Keras layer on `inputs`; `call` > 0 reuses the layer's weights."""
        class_name, cfg = layer["class_name"], layer.get("config") or {}
        name = cfg.get("name") or layer.get("name")
        where = f"layer '{name}' ({class_name})"
        rule = RULES.get(class_name)
        if rule is None:  # later layers are still checked, on an input of unknown shape
            self.problems.append(f"{where}: Keras layer {class_name} has no trainer counterpart")
            return Tensor(name, "keras", None)
        args, graph_keys = self._arguments(rule, cfg, where)
        layout = self._input_layout(rule, cfg, inputs)
        inputs = [self.as_layout(t, layout) for t in inputs] if layout else inputs
        if rule.layout == "axis":
            args["axis"] = self._moved_axis(args.get("axis", rule.defaults["axis"]), inputs)
        node = output_name or (name if call == 0 else f"{name}_{call}")
        entry = {"name": node, "type": rule.type, **args, **graph_keys}
        if call > 0:
            entry = {"name": node, "shares": name}
        entry["inputs"] = [t.name for t in inputs]
        self.entries.append(entry)
        self.taken.add(node)
        shape = self._build(entry, rule, inputs, where)
        if call == 0 and rule.weights is not None and shape is not None:
            self._convert_weights(rule, cfg, name, node, where)
        out_layout = self._output_layout(rule, cfg, inputs, shape)
        return Tensor(node, out_layout, shape)

    def as_layout(self, tensor: Tensor, layout: str) -> Tensor:
        """The tensor in `layout`, through a (cached) Permute entry."""
        if tensor.layout == layout or tensor.shape is None or len(tensor.shape) < 2:
            return tensor
        key = (tensor.name, layout)
        if key not in self.converted:
            rank = len(tensor.shape)
            dims = [rank, *range(1, rank)] if layout == "cf" else [*range(2, rank + 1), 1]
            suffix = "channels_first" if layout == "cf" else "channels_last"
            name = self.free_name(f"{tensor.name}_{suffix}")
            self.entries.append({"name": name, "type": "Permute", "dims": dims,
                                 "inputs": [tensor.name]})
            self.taken.add(name)
            shape = self._build(self.entries[-1], None, [tensor], f"layer '{name}' (Permute)")
            self.converted[key] = Tensor(name, layout, shape)
        return self.converted[key]

    def output(self, tensor: Tensor) -> Tensor:
        """A model output in Keras's layout, under the Keras layer's name (a channels-first
        output's Permute takes the name; the layer becomes `<name>_channels_first`)."""
        out = self.as_layout(tensor, "keras")
        if out.name == tensor.name:
            return out
        inner = self.free_name(f"{tensor.name}_channels_first")
        self._rename(tensor.name, inner)
        self._rename(out.name, tensor.name)
        return Tensor(tensor.name, "keras", out.shape)

    def _rename(self, old: str, new: str) -> None:
        for entry in self.entries:
            if entry["name"] == old:
                entry["name"] = new
            if entry.get("shares") == old:
                entry["shares"] = new
            entry["inputs"] = [new if ref == old else ref for ref in entry["inputs"]]
        prefix = f"layers.{old}."
        self.state = {(f"layers.{new}." + k[len(prefix):] if k.startswith(prefix) else k): v
                      for k, v in self.state.items()}
        self.taken.add(new)

    def free_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        return name

    # --- arguments and layouts ------------------------------------------------------------
    def _arguments(self, rule: Rule, cfg: dict[str, Any], where: str
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
        accepted = inspect.signature(LAYERS.lookup(rule.type, "type")).parameters
        args, graph_keys = {}, {}
        dtype = cfg.get("dtype")
        policy = (dtype.get("config") or {}).get("name") if isinstance(dtype, dict) else dtype
        if policy not in (None, "float32"):
            self.problems.append(f"{where}: dtype policy '{policy}' is not supported (float32 only)")
        if cfg.get("trainable") is False:
            graph_keys["trainable"] = False
        if cfg.get("activity_regularizer") is not None:
            graph_keys["activity_regularizer"] = component(cfg["activity_regularizer"])
        for key, value in cfg.items():
            if key in COMMON:
                continue
            if key in accepted:
                if value is not None or accepted[key].default is not None:
                    args[key] = component(value)
            elif key in KERAS_ONLY and (KERAS_ONLY[key] is ANY or value == KERAS_ONLY[key]):
                continue
            elif key == "data_format" and value == "channels_first" and rule.layout in ("spatial", "pooled"):
                continue  # already trainer's layout
            else:
                self.problems.append(f"{where}: argument {key}={value!r} is not supported")
        for key, value in rule.defaults.items():
            args.setdefault(key, value)
        return args, graph_keys

    @staticmethod
    def _input_layout(rule: Rule, cfg: dict[str, Any], inputs: list[Tensor]) -> Optional[str]:
        if rule.layout in ("spatial", "pooled"):
            return "keras" if cfg.get("data_format") == "channels_first" else "cf"
        if rule.layout in ("any", "axis"):
            layouts = {t.layout for t in inputs if t.shape is not None and len(t.shape) >= 2}
            return None if len(layouts) <= 1 else "keras"
        return "keras"

    @staticmethod
    def _moved_axis(axis: Any, inputs: list[Tensor]) -> Any:
        first = inputs[0]
        if first.layout != "cf" or first.shape is None or not isinstance(axis, int):
            return axis
        rank = len(first.shape)
        return channels_axis_map(rank)[axis % (rank + 1)]

    @staticmethod
    def _output_layout(rule: Rule, cfg: dict[str, Any], inputs: list[Tensor],
                       shape: Optional[Shape]) -> str:
        if rule.layout == "spatial":
            return "keras" if cfg.get("data_format") == "channels_first" else "cf"
        if rule.layout == "pooled":
            keep = cfg.get("keepdims") and cfg.get("data_format") != "channels_first"
            return "cf" if keep else "keras"
        if rule.layout in ("any", "axis") and inputs:
            return inputs[0].layout
        return "keras"

    # --- shapes and weights ---------------------------------------------------------------
    def _build(self, entry: dict[str, Any], rule: Optional[Rule], inputs: list[Tensor],
               where: str) -> Optional[Shape]:
        """Build the trainer layer for its input shapes; None (and a problem) when it fails."""
        in_shapes = [t.shape for t in inputs]
        args = {k: v for k, v in entry.items() if k not in ("name", "type", "inputs", "shares",
                                                           "trainable", "activity_regularizer")}
        try:
            if "shares" in entry:
                layer = self.built.get(entry["shares"])
            else:
                layer = create_layer(Entry(entry["name"], where, entry["type"], args,
                                           entry["inputs"]), in_shapes)
            if layer is None or any(s is None for s in in_shapes):
                return None
            multi = layer.multi_input
            if "shares" not in entry:
                layer.build(in_shapes if multi else in_shapes[0])
                self.built[entry["name"]] = layer
            return probe_output_shape(layer, in_shapes, multi)
        except ConfigError as exc:
            self.problems.append(f"{where}: {exc.message}")
        except (ValueError, RuntimeError, IndexError, TypeError) as exc:
            self.problems.append(f"{where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        return None

    def _convert_weights(self, rule: Rule, cfg: dict[str, Any], keras_name: str, node: str,
                         where: str) -> None:
        values = self.weights.get(keras_name, [])
        try:
            converted = rule.weights(cfg, values)
        except (IndexError, ValueError) as exc:
            self.problems.append(f"{where}: its saved weights do not fit ({exc})")
            return
        expected = self.built[node].state_dict()
        for param, array in converted.items():
            target = expected.get(param)
            if target is None or tuple(target.shape) != array.shape:
                want = None if target is None else list(target.shape)
                self.problems.append(f"{where}: saved weight {param} {list(array.shape)} does "
                                     f"not fit trainer's {want}")
                continue
            self.state[f"layers.{node}.{param}"] = np.ascontiguousarray(array)

    # --- the result -----------------------------------------------------------------------
    def model_section(self, outputs: list[Tensor]) -> dict[str, Any]:
        """`inputs` is left out of entries that read the entry before them (Sequential style)."""
        layers, previous = [], next(iter(self.inputs)) if len(self.inputs) == 1 else None
        for entry in self.entries:
            entry = dict(entry)
            if entry["inputs"] == [previous]:
                del entry["inputs"]
            elif len(entry["inputs"]) == 1:
                entry["inputs"] = entry["inputs"][0]
            layers.append(entry)
            previous = entry["name"]
        names = [t.name for t in outputs]
        section = {"inputs": {k: list(v) for k, v in self.inputs.items()}, "layers": layers}
        if names != [self.entries[-1]["name"]]:
            section["outputs"] = names[0] if len(names) == 1 else names
        return section
