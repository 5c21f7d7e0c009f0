"""Differential tests against Keras 3: parameter counts, output shapes, initialiser scales and
forward numbers of catalogue layers equal Keras's (channels-last in Keras, channels-first here)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
from keras import layers as K  # noqa: E402

from trainer.engine.graph import build_model, summarize  # noqa: E402


def channels_last(shape):
    """Our channels-first shape [C, *spatial] -> Keras's [*spatial, C]."""
    return (*shape[1:], shape[0])


def channels_first(shape):
    return (shape[-1], *shape[:-1])


SAME = lambda s: tuple(s)  # noqa: E731 - layouts that agree ([features], [time, features])

# (our layer spec, our input shape, Keras layer, Keras input shape, Keras output -> ours)
CASES = {
    "Dense": ({"type": "Dense", "units": 7}, [5], lambda: K.Dense(7), (5,), SAME),
    "Dense on sequences": ({"type": "Dense", "units": 3}, [4, 6], lambda: K.Dense(3), (4, 6), SAME),
    "Conv1D causal dilated": ({"type": "Conv1D", "filters": 6, "kernel_size": 5, "padding": "causal",
                               "dilation_rate": 2}, [3, 20],
                              lambda: K.Conv1D(6, 5, padding="causal", dilation_rate=2),
                              (20, 3), channels_first),
    "Conv2D same stride 2": ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": 2,
                              "padding": "same"}, [3, 15, 16],
                             lambda: K.Conv2D(4, 3, strides=2, padding="same"), (15, 16, 3),
                             channels_first),
    "Conv3D": ({"type": "Conv3D", "filters": 2, "kernel_size": [3, 2, 1]}, [2, 6, 7, 8],
               lambda: K.Conv3D(2, (3, 2, 1)), (6, 7, 8, 2), channels_first),
    "Conv2DTranspose same": ({"type": "Conv2DTranspose", "filters": 5, "kernel_size": 3,
                              "strides": 2, "padding": "same"}, [3, 7, 9],
                             lambda: K.Conv2DTranspose(5, 3, strides=2, padding="same"),
                             (7, 9, 3), channels_first),
    "Conv2DTranspose valid": ({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 4,
                               "strides": 3}, [3, 5, 6],
                              lambda: K.Conv2DTranspose(2, 4, strides=3), (5, 6, 3), channels_first),
    "SeparableConv2D": ({"type": "SeparableConv2D", "filters": 8, "kernel_size": 3,
                         "depth_multiplier": 2, "padding": "same"}, [3, 10, 10],
                        lambda: K.SeparableConv2D(8, 3, depth_multiplier=2, padding="same"),
                        (10, 10, 3), channels_first),
    "DepthwiseConv2D": ({"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 3,
                         "strides": 2}, [4, 11, 11],
                        lambda: K.DepthwiseConv2D(3, depth_multiplier=3, strides=2),
                        (11, 11, 4), channels_first),
    "MaxPooling2D same": ({"type": "MaxPooling2D", "pool_size": 3, "strides": 2, "padding": "same"},
                          [4, 11, 10], lambda: K.MaxPooling2D(3, 2, padding="same"), (11, 10, 4),
                          channels_first),
    "AveragePooling1D": ({"type": "AveragePooling1D", "pool_size": 2}, [3, 9],
                         lambda: K.AveragePooling1D(2), (9, 3), channels_first),
    "GlobalAveragePooling2D": ({"type": "GlobalAveragePooling2D"}, [6, 5, 5],
                               lambda: K.GlobalAveragePooling2D(), (5, 5, 6), SAME),
    "BatchNormalization": ({"type": "BatchNormalization"}, [6, 5, 5],
                           lambda: K.BatchNormalization(), (5, 5, 6), channels_first),
    "LayerNormalization": ({"type": "LayerNormalization"}, [7, 9],
                           lambda: K.LayerNormalization(), (7, 9), SAME),
    "GroupNormalization": ({"type": "GroupNormalization", "groups": 2}, [4, 6, 6],
                           lambda: K.GroupNormalization(groups=2), (6, 6, 4), channels_first),
    "Embedding": ({"type": "Embedding", "input_dim": 50, "output_dim": 8}, [12],
                  lambda: K.Embedding(50, 8), (12,), SAME),
    "LSTM": ({"type": "LSTM", "units": 16}, [10, 8], lambda: K.LSTM(16), (10, 8), SAME),
    "GRU sequences": ({"type": "GRU", "units": 12, "return_sequences": True}, [10, 8],
                      lambda: K.GRU(12, return_sequences=True), (10, 8), SAME),
    "SimpleRNN": ({"type": "SimpleRNN", "units": 9}, [10, 8], lambda: K.SimpleRNN(9), (10, 8), SAME),
    "Bidirectional LSTM": ({"type": "Bidirectional", "layer": {"type": "LSTM", "units": 6,
                                                               "return_sequences": True}},
                           [10, 8], lambda: K.Bidirectional(K.LSTM(6, return_sequences=True)),
                           (10, 8), SAME),
    "PReLU": ({"type": "PReLU"}, [4, 5], lambda: K.PReLU(), (4, 5), SAME),
    "Permute": ({"type": "Permute", "dims": [2, 1]}, [4, 5], lambda: K.Permute((2, 1)), (4, 5), SAME),
    "RepeatVector": ({"type": "RepeatVector", "n": 3}, [5], lambda: K.RepeatVector(3), (5,), SAME),
    "Reshape": ({"type": "Reshape", "target_shape": [-1, 4]}, [12], lambda: K.Reshape((-1, 4)),
                (12,), SAME),
}


def _our_model(spec, shapes):
    inputs = {f"in{i}": list(s) for i, s in enumerate(shapes)}
    names = list(inputs)
    layer = {**spec, "name": "layer", "inputs": names if len(names) > 1 else names[0]}
    return build_model({"inputs": inputs, "layers": [layer], "outputs": None})


def _keras_layer(factory, shapes):
    inputs = [keras.Input(shape=s) for s in shapes]
    layer = factory()
    if len(inputs) == 1:
        out = layer(inputs[0])
    else:  # attention takes (query, value), merge layers a list
        out = layer(*inputs) if isinstance(layer, K.MultiHeadAttention) else layer(inputs)
    return layer, tuple(out.shape[1:])


@pytest.mark.parametrize("case", list(CASES))
def test_parameter_counts_and_output_shapes_equal_keras(case):
    spec, shape, factory, keras_shape, to_ours = CASES[case]
    model = _our_model(spec, [shape])
    layer, keras_out = _keras_layer(factory, [keras_shape])
    summary = summarize(model)
    trainable = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    assert (summary.total, summary.trainable) == (layer.count_params(), trainable)
    assert model.output_shapes["layer"] == to_ours(keras_out)


@pytest.mark.parametrize("case", [
    ("Concatenate", {"type": "Concatenate"}, [[3], [5]], lambda: K.Concatenate(), [(3,), (5,)]),
    ("Add", {"type": "Add"}, [[4, 2], [4, 2]], lambda: K.Add(), [(4, 2), (4, 2)]),
    ("Dot", {"type": "Dot", "axes": 2}, [[3, 4], [5, 4]], lambda: K.Dot(axes=2), [(3, 4), (5, 4)]),
    ("MultiHeadAttention", {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4},
     [[10, 8], [6, 5]], lambda: K.MultiHeadAttention(2, 4), [(10, 8), (6, 5)]),
], ids=lambda c: c[0] if isinstance(c, tuple) else None)
def test_multi_input_layers_equal_keras(case):
    _, spec, shapes, factory, keras_shapes = case
    model = _our_model(spec, shapes)
    layer, keras_out = _keras_layer(factory, keras_shapes)
    assert summarize(model).total == layer.count_params()
    assert model.output_shapes["layer"] == keras_out


def test_keras_mnist_mlp_has_55050_parameters(cli):
    from conftest import CONFIGS
    result = cli("summary", CONFIGS / "mnist.yaml")
    assert result.exit_code == 0, result.output
    keras_model = keras.Sequential([keras.Input((784,)), K.Dense(64, activation="relu"),
                                    K.Dense(64, activation="relu"), K.Dense(10, activation="softmax")])
    assert keras_model.count_params() == 55050
    assert "Total params: 55,050" in result.stdout


@pytest.mark.parametrize("spec, shape, factory, keras_shape, ours, theirs", [
    ({"type": "Conv2D", "filters": 64, "kernel_size": 3}, [32, 8, 8], lambda: K.Conv2D(64, 3),
     (8, 8, 32), "kernel", "kernel"),
    ({"type": "DepthwiseConv2D", "kernel_size": 5, "depth_multiplier": 8}, [16, 8, 8],
     lambda: K.DepthwiseConv2D(5, depth_multiplier=8), (8, 8, 16), "depthwise_kernel", "kernel"),
    ({"type": "MultiHeadAttention", "num_heads": 4, "key_dim": 16}, [5, 32],
     lambda: K.MultiHeadAttention(4, 16), (5, 32), "query_kernel", None),
])
def test_glorot_uniform_uses_keras_fans(spec, shape, factory, keras_shape, ours, theirs):
    """Same bound as Keras's kernel (fans from Keras's kernel layout, not torch's)."""
    torch.manual_seed(0)
    model = _our_model(spec, [shape] if spec["type"] != "MultiHeadAttention" else [shape])
    ours_max = getattr(model.layers["layer"], ours).abs().max().item()
    if theirs is None:
        layer = factory()
        inp = keras.Input(keras_shape)
        layer(inp, inp)
        kernel = layer.query_dense.kernel
    else:
        layer, _ = _keras_layer(factory, [keras_shape])
        kernel = getattr(layer, theirs)
    theirs_max = float(np.abs(keras.ops.convert_to_numpy(kernel)).max())
    assert ours_max == pytest.approx(theirs_max, rel=0.05)


def test_recurrent_defaults_orthogonal_and_forget_bias():
    torch.manual_seed(0)
    lstm = _our_model({"type": "LSTM", "units": 8}, [[5, 3]]).layers["layer"]
    w = lstm.recurrent_kernel.detach()  # torch [4u, u] = Keras [u, 4u] transposed
    assert torch.allclose(w.T @ w, torch.eye(8), atol=1e-5)
    assert torch.equal(lstm.bias[8:16], torch.ones(8)) and not lstm.bias[:8].any()


def _to_numpy(t):
    return keras.ops.convert_to_numpy(t)


def _copy_into(param, array):
    with torch.no_grad():
        param.copy_(torch.as_tensor(np.ascontiguousarray(array)))


@pytest.mark.parametrize("name", ["Conv2D same stride 2", "Conv2DTranspose same",
                                  "Conv2DTranspose valid", "DepthwiseConv2D", "SeparableConv2D",
                                  "MaxPooling2D same", "LSTM", "GRU sequences", "SimpleRNN",
                                  "BatchNormalization"])
def test_forward_numbers_equal_keras(name):
    """With Keras's weights copied in, our layer computes Keras's outputs."""
    spec, shape, factory, keras_shape, _ = CASES[name]
    model = _our_model(spec, [shape]).eval()
    ours = model.layers["layer"]
    layer, _ = _keras_layer(factory, [keras_shape])
    weights = {w.path.split("/")[-1]: _to_numpy(w) for w in layer.weights}
    kind = spec["type"]
    if kind in ("Conv2D", "Conv2DTranspose"):
        _copy_into(ours.kernel, weights["kernel"].transpose(3, 2, 0, 1))
    elif kind == "DepthwiseConv2D":
        _copy_into(ours.depthwise_kernel, weights["kernel"].transpose(2, 3, 0, 1))
    elif kind == "SeparableConv2D":
        _copy_into(ours.depthwise_kernel, weights["depthwise_kernel"].transpose(2, 3, 0, 1))
        _copy_into(ours.pointwise_kernel, weights["pointwise_kernel"].transpose(3, 2, 0, 1))
    elif kind in ("LSTM", "SimpleRNN"):
        _copy_into(ours.kernel, weights["kernel"].T)
        _copy_into(ours.recurrent_kernel, weights["recurrent_kernel"].T)
    elif kind == "GRU":  # Keras gates z, r, h; torch r, z, n
        reorder = lambda a: np.concatenate([np.split(a, 3, axis=-1)[i] for i in (1, 0, 2)], -1)  # noqa: E731
        _copy_into(ours.kernel, reorder(weights["kernel"]).T)
        _copy_into(ours.recurrent_kernel, reorder(weights["recurrent_kernel"]).T)
        weights["bias"] = reorder(weights["bias"])
        _copy_into(ours.bias, weights["bias"][0])
        _copy_into(ours.recurrent_bias, weights["bias"][1])
    if kind == "BatchNormalization":
        rng = np.random.default_rng(2)
        stats = {k: rng.uniform(0.5, 1.5, size=v.shape).astype(np.float32) for k, v in weights.items()}
        layer.set_weights([stats[w.path.split("/")[-1]] for w in layer.weights])
        for k in ("gamma", "beta"):
            _copy_into(getattr(ours, k), stats[k])
        _copy_into(ours.moving_mean, stats["moving_mean"])
        _copy_into(ours.moving_variance, stats["moving_variance"])
    elif "bias" in weights and kind != "GRU":
        rng = np.random.default_rng(3)
        bias = rng.normal(size=weights["bias"].shape).astype(np.float32)
        layer.set_weights([bias if w.path.endswith("bias") else weights[w.path.split("/")[-1]]
                           for w in layer.weights])
        _copy_into(ours.bias, bias)
    x = np.random.default_rng(0).normal(size=(2, *keras_shape)).astype(np.float32)
    expected = _to_numpy(layer(x, training=False) if kind == "BatchNormalization" else layer(x))
    ours_x = torch.as_tensor(x)
    if CASES[name][4] is channels_first:
        ours_x = ours_x.movedim(-1, 1)
    with torch.no_grad():
        got = model(ours_x)
    if CASES[name][4] is channels_first:
        got = got.movedim(1, -1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)
