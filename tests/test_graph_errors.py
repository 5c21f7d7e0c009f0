"""Graph mistakes are reported before anything trains or is written: exit 2, one message naming
the layers, shapes, key path and the config line."""
from __future__ import annotations

import copy

import pytest
import yaml

# The SPEC's functional image + time-series graph, on synthetic data.
BASE = {
    "name": "graph_errors",
    "data": {"train": {"source": "synthetic", "generator": "multi_io", "samples": 64}},
    "model": {
        "inputs": {"img_input": [3, 32, 32], "ts_input": [10, None]},
        "layers": [
            {"name": "c1", "type": "Conv2D", "filters": 3, "kernel_size": 3, "inputs": "img_input"},
            {"name": "p1", "type": "GlobalMaxPooling2D", "inputs": "c1"},
            {"name": "c2", "type": "Conv1D", "filters": 3, "kernel_size": 3, "inputs": "ts_input"},
            {"name": "p2", "type": "GlobalMaxPooling1D", "inputs": "c2"},
            {"name": "x", "type": "Concatenate", "inputs": ["p1", "p2"]},
            {"name": "score_output", "type": "Dense", "units": 1, "inputs": "x"},
            {"name": "class_output", "type": "Dense", "units": 5, "inputs": "x"},
        ],
        "outputs": ["score_output", "class_output"],
    },
    "compile": {"loss": "sparse_categorical_crossentropy"},
    "fit": {"epochs": 1, "batch_size": 16},
}


def _layer(config, name):
    return next(layer for layer in config["model"]["layers"] if layer["name"] == name)


def _unknown_type(c):
    _layer(c, "score_output")["type"] = "Dens"


def _unknown_argument(c):
    _layer(c, "score_output")["unit"] = _layer(c, "score_output").pop("units")


def _dangling_input(c):
    _layer(c, "x")["inputs"] = ["p1", "p3"]


def _cycle(c):
    _layer(c, "x")["inputs"] = ["p1", "score_output"]


def _unused_input(c):
    _layer(c, "c2")["inputs"] = "c1"
    _layer(c, "c2")["type"] = "Conv2D"
    _layer(c, "p2")["type"] = "GlobalMaxPooling2D"


def _concatenate_shapes(c):
    _layer(c, "x")["inputs"] = ["c1", "p2"]


def _add_shapes(c):
    c["model"]["layers"].insert(5, {"name": "wide", "type": "Dense", "units": 4, "inputs": "p2"})
    _layer(c, "x").update(type="Add", inputs=["p1", "wide"])


def _output_not_layer(c):
    c["model"]["outputs"] = ["score_output", "class_out"]


CASES = [
    (_unknown_type, ["model.layers[5].type", "unknown layer 'Dens'", "did you mean 'Dense'"]),
    (_unknown_argument, ["model.layers[5].unit", "unknown argument 'unit' for layer 'Dense'",
                         "did you mean 'units'"]),
    (_dangling_input, ["model.layers[4].inputs", "layer 'x' takes input 'p3', which is neither "
                       "a model input nor a layer"]),
    (_cycle, ["cycle", "x -> score_output -> x"]),
    (_unused_input, ["model.inputs.ts_input", "model input 'ts_input' is not used by any layer"]),
    (_concatenate_shapes, ["model.layers[4]", "layer 'x' (Concatenate) cannot take input "
                           "'c1' [3, 30, 30], 'p2' [3]", "same rank"]),
    (_add_shapes, ["layer 'x' (Add) cannot take input 'p1' [3], 'wide' [4]", "same shape"]),
    (_output_not_layer, ["model.outputs[1]", "output 'class_out' is not a layer name",
                         "did you mean 'class_output'"]),
]


@pytest.mark.parametrize("mutate, expected", CASES, ids=[c[0].__name__.strip("_") for c in CASES])
def test_graph_error_exits_2_before_training(cli, workdir, mutate, expected):
    config = copy.deepcopy(BASE)
    mutate(config)
    path = workdir / "graph.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = cli("fit", path)
    assert result.exit_code == 2, result.output
    message = result.stderr
    for part in expected:
        assert part in message, message
    assert "graph.yaml:" in message  # the config line the key came from
    assert "Traceback" not in result.output
    assert not (workdir / "runs").exists()


def test_valid_base_graph_passes_summary(cli, workdir):
    path = workdir / "graph.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False))
    result = cli("summary", path)
    assert result.exit_code == 0, result.output
    assert "x (Concatenate)" in result.stdout and "(None, 6)" in result.stdout
