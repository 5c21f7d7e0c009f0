"""Augmentation layers: active only in training, the same draws for the same (seed, epoch,
step) and different ones elsewhere, Keras's output shapes for the resizing and cropping
layers, and their argument checks."""
from __future__ import annotations

import pytest
import torch

from trainer.engine.graph.layers import LAYERS
from trainer.engine.graph.layers.augmentation import bind_augmentation

RANDOM = [
    {"type": "RandomFlip"},
    {"type": "RandomRotation", "factor": 0.2, "fill_mode": "constant", "fill_value": 3.0},
    {"type": "RandomZoom", "height_factor": [-0.3, 0.3], "fill_mode": "wrap"},
    {"type": "RandomTranslation", "height_factor": 0.2, "width_factor": 0.2,
     "fill_mode": "nearest"},
    {"type": "RandomContrast", "factor": 0.5},
    {"type": "RandomBrightness", "factor": 0.3},
    {"type": "RandomCrop", "height": 6, "width": 5},
]


def _layer(spec):
    layer = LAYERS.build(spec, "model.layers[0]")
    layer.build((3, 10, 8))
    return layer


def _images():
    return torch.rand(16, 3, 10, 8, generator=torch.Generator().manual_seed(0)) * 255


@pytest.mark.parametrize("spec", RANDOM, ids=lambda s: s["type"])
def test_random_layers_draw_from_seed_epoch_and_step_and_only_in_training(spec):
    layer, twin = _layer(spec), _layer(spec)
    clock, twin_clock = bind_augmentation([layer], 5), bind_augmentation([twin], 5)
    x = _images()
    layer.train(), twin.train()
    clock.at(1, 3)
    first = layer(x)
    twin_clock.at(1, 3)
    assert torch.equal(twin(x), first)          # same (seed, epoch, step): the same draws
    clock.at(1, 4)
    assert not torch.equal(layer(x), first)     # the next step draws anew
    if spec["type"] != "RandomCrop":
        assert first.shape == x.shape
        changed = (first - x).abs().flatten(1).amax(1) > 1e-4
        assert changed.sum() >= 4               # per-sample draws: several samples changed
    layer.eval()
    out = layer(x)
    if spec["type"] == "RandomCrop":            # inference: the centre window
        assert first.shape == out.shape == (16, 3, 6, 5)
        assert torch.equal(out, x[:, :, 2:8, 1:6])
    else:
        assert torch.equal(out, x)


def test_resizing_and_center_crop_shapes():
    x = _images()
    assert _layer({"type": "Resizing", "height": 5, "width": 4})(x).shape == (16, 3, 5, 4)
    crop = _layer({"type": "CenterCrop", "height": 4, "width": 4})(x)
    assert torch.equal(crop, x[:, :, 3:7, 2:6])
    assert _layer({"type": "CenterCrop", "height": 20, "width": 20})(x).shape == (16, 3, 20, 20)


@pytest.mark.parametrize("spec, message", [
    ({"type": "RandomFlip", "mode": "diagonal"}, "mode must be one of"),
    ({"type": "RandomRotation", "factor": [0.3, 0.1]}, "lower 0.3 is above upper 0.1"),
    ({"type": "RandomBrightness", "factor": 2}, "within [-1, 1]"),
    ({"type": "RandomZoom", "height_factor": 0.1, "fill_mode": "mirror"}, "fill_mode"),
])
def test_bad_arguments_are_named(cli, workdir, spec, message):
    import json
    (workdir / "aug.yaml").write_text(
        "name: aug\ndata: {train: {source: mnist, split: train, limit: 64}}\n"
        "model:\n  inputs: {image: [1, 28, 28]}\n  layers:\n"
        f"    - {json.dumps(spec)}\n    - {{type: Flatten}}\n"
        "    - {type: Dense, units: 10, activation: softmax}\n"
        "compile: {loss: sparse_categorical_crossentropy}\n")
    result = cli("validate", "aug.yaml")
    assert result.exit_code == 2 and message in result.output and "model.layers[0]" in result.output
