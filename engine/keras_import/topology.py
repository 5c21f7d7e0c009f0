"""Walks a Keras 3 model config (Sequential, or functional with `inbound_nodes`) in call order,
feeding each layer call with the tensors it reads to a GraphImport."""
from __future__ import annotations

import re
from typing import Any

from .graph import GraphImport, Tensor


def walk(model: dict[str, Any], graph: GraphImport) -> list[Tensor]:
    """The model's output tensors (in trainer's graph), after adding every layer."""
    kind, cfg = model.get("class_name"), model.get("config") or {}
    if kind == "Sequential":
        return _sequential(cfg, graph)
    if kind in ("Functional", "Model"):
        return _functional(cfg, graph)
    graph.problems.append(f"model class {kind}: only Sequential and functional models can be "
                          f"imported (a subclassed model has no layer graph in its config)")
    return []


def _sequential(cfg: dict[str, Any], graph: GraphImport) -> list[Tensor]:
    layers = list(cfg.get("layers") or [])
    if layers and layers[0]["class_name"] == "InputLayer":
        first = layers.pop(0)["config"]
        current = graph.add_input(first.get("name") or "input_layer", first["batch_shape"])
    elif cfg.get("build_input_shape"):
        current = graph.add_input("input_layer", cfg["build_input_shape"])
    else:
        graph.problems.append("the Sequential model was saved unbuilt (no input shape)")
        return []
    for layer in layers:
        current = graph.add_layer(layer, [current], 0)
    return [graph.output(current)]


def _functional(cfg: dict[str, Any], graph: GraphImport) -> list[Tensor]:
    tensors: dict[tuple[str, int, int], Tensor | None] = {}
    for layer in cfg.get("layers") or []:
        name = layer.get("name") or layer["config"]["name"]
        if layer["class_name"] == "InputLayer":
            tensors[(name, 0, 0)] = graph.add_input(name, layer["config"]["batch_shape"])
            continue
        for call, node in enumerate(layer.get("inbound_nodes") or []):
            refs = _history(node.get("args", []))
            kwargs = {k: v for k, v in (node.get("kwargs") or {}).items()
                      if k not in ("training", "mask") or v not in (None, False)}
            if kwargs:
                graph.problems.append(f"layer '{name}' ({layer['class_name']}): call arguments "
                                      f"{', '.join(sorted(kwargs))} are not supported")
            if any(ref[2] != 0 for ref in refs):
                graph.problems.append(f"layer '{name}': reads a second output of a layer "
                                      f"(e.g. return_state), which trainer layers do not have")
            inputs = [tensors.get(ref) or Tensor(ref[0], "keras", None) for ref in refs]
            tensors[(name, call, 0)] = graph.add_layer(layer, inputs, call)
    outputs = [tensors.get(tuple(ref)) for ref in _refs(cfg.get("output_layers"))]
    if any(t is None for t in outputs):
        graph.problems.append("the model's outputs name layers it does not have")
        return []
    return [graph.output(t) for t in outputs]


def _history(args: Any) -> list[tuple[str, int, int]]:
    """The (layer, node, tensor) references among a call's arguments, in order."""
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            return [tuple(args["config"]["keras_history"])]
        return [ref for value in args.values() for ref in _history(value)]
    if isinstance(args, (list, tuple)):
        return [ref for value in args for ref in _history(value)]
    return []


def _refs(spec: Any) -> list[list[Any]]:
    """`['x', 0, 0]` or `[['a', 0, 0], ['b', 0, 0]]` (or a dict of them) -> list of refs."""
    if isinstance(spec, dict):
        return [ref for value in spec.values() for ref in _refs(value)]
    if spec and isinstance(spec[0], str):
        return [spec]
    return [ref for value in spec or [] for ref in _refs(value)]


def weight_groups(model: dict[str, Any]) -> dict[str, str]:
    """Layer name -> its group under `layers/` in model.weights.h5. Keras names the groups by
    class (snake case, `_1`, `_2`, ... for repeats) in the order of `model.layers`, which is
    the config's order less a Sequential model's InputLayer."""
    layers = list((model.get("config") or {}).get("layers") or [])
    if model.get("class_name") == "Sequential" and layers and layers[0]["class_name"] == "InputLayer":
        layers = layers[1:]
    used: dict[str, int] = {}
    groups = {}
    for layer in layers:
        base = _keras_snake_case(layer["class_name"])
        count = used.get(base)
        used[base] = 0 if count is None else count + 1
        name = layer.get("name") or layer["config"]["name"]
        groups[name] = base if count is None else f"{base}_{used[base]}"
    return groups


def _keras_snake_case(class_name: str) -> str:
    """Keras's naming.to_snake_case: Conv2D -> conv2d, GlobalMaxPooling1D -> global_max_pooling1d."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
