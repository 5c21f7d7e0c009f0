"""Transforms declared in YAML; normalize statistics come from the training split only and are
reused from the checkpoint by evaluate and predict."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from conftest import write_config
from support_data import blobs, experiment, fit
from trainer.engine.config import resolve_experiment
from trainer.engine.data import load_data


def _train(workdir, x, y, transforms, names=(["features"], ["label"])):
    np.savez(workdir / "t.npz", x=x, y=y)
    cfg = resolve_experiment(experiment({"source": "npz", "path": "t.npz"},
                                        fit={"validation_split": 0.0},
                                        data={"transforms": transforms}), {}).config
    return load_data(cfg.data, cfg.fit, *names).train


def test_scale_cast_reshape_one_hot_channels_first(workdir):
    x = np.arange(2 * 2 * 3 * 4, dtype=np.uint8).reshape(2, 2, 3, 4)  # [N, H, W, C]
    y = np.array([2, 0])
    train = _train(workdir, x, y, {
        "x": [{"scale": {"factor": 0.5, "offset": 1}}, "channels_first", {"reshape": [4, 6]},
              {"cast": "float64"}],
        "y": [{"one_hot": 3}]})
    expected = (np.moveaxis(x, -1, 1) * 0.5 + 1).reshape(2, 4, 6)
    np.testing.assert_allclose(train.x["features"], expected)
    assert train.x["features"].dtype == np.float64
    np.testing.assert_array_equal(train.y["label"], [[0, 0, 1], [1, 0, 0]])


def test_normalize_per_feature_and_over_all_axes(workdir):
    x, y = blobs(200, offset=50.0)
    train = _train(workdir, x, y, {"x": [{"normalize": None}]})
    np.testing.assert_allclose(train.x["features"].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(train.x["features"].std(0), 1, atol=1e-4)
    train = _train(workdir, x, y, {"x": [{"normalize": {"axis": None}}]})
    np.testing.assert_allclose(train.x["features"],
                               (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-4)


def test_one_hot_rejects_labels_beyond_its_classes(cli, workdir):
    x, y = blobs(30)
    np.savez(workdir / "t.npz", x=x, y=y)
    config = experiment({"source": "npz", "path": "t.npz"}, data={"transforms": {"y": [{"one_hot": 2}]}})
    result = fit(cli, write_config(workdir, config))
    assert result.exit_code == 2
    assert "t.npz [y]" in result.stderr and "not a class index 0..1" in result.stderr


def test_unknown_transform_and_key_are_config_errors(cli, workdir):
    x, y = blobs(30)
    np.savez(workdir / "t.npz", x=x, y=y)
    spec = {"source": "npz", "path": "t.npz"}
    result = fit(cli, write_config(workdir, experiment(spec, data={"transforms": {"x": [{"normalise": None}]}})))
    assert result.exit_code == 2 and "data.transforms.x[0]" in result.stderr
    assert "did you mean 'normalize'" in result.stderr
    result = fit(cli, write_config(workdir, experiment(spec, data={"transforms": {"featurs": ["normalize"]}})))
    assert result.exit_code == 2 and "data.transforms.featurs" in result.stderr


@pytest.fixture
def normalized_run(cli, workdir):
    """A classifier trained on inputs far from zero with `normalize`; the last 20% (held out)
    are shifted by +1000 so statistics fitted on them would be far off."""
    x, y = blobs(400, offset=100.0)
    x[320:] += 1000.0
    np.savez(workdir / "d.npz", x=x, y=y)
    config = experiment({"source": "npz", "path": "d.npz"}, fit={"epochs": 4},
                        data={"transforms": {"x": [{"normalize": None}]}})
    assert fit(cli, write_config(workdir, config)).exit_code == 0
    return x, y


def test_normalize_statistics_come_from_the_training_part_and_travel_in_the_checkpoint(
        workdir, normalized_run):
    x, _ = normalized_run
    state = torch.load(workdir / "runs/data_test/checkpoints/last.pt", weights_only=True)
    (stats,) = state["data"]["transforms"]["x"]
    np.testing.assert_allclose(stats["mean"].numpy().reshape(-1), x[:320].mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["variance"].numpy().reshape(-1), x[:320].var(0), rtol=1e-4)


def test_predict_and_evaluate_reuse_the_training_statistics(cli, workdir, normalized_run):
    x, y = normalized_run
    one_class = x[:320][y[:320] == 2]  # statistics of this file alone would ruin the predictions
    np.save(workdir / "inputs.npy", one_class)
    ckpt = workdir / "runs/data_test/checkpoints/last.pt"
    result = cli("predict", "--ckpt", ckpt, "--input", "inputs.npy", "--output", "p.npy")
    assert result.exit_code == 0, result.output
    assert (np.load(workdir / "p.npy").argmax(1) == 2).mean() > 0.95
    np.savez(workdir / "test.npz", x=one_class, y=np.full(len(one_class), 2))
    result = cli("evaluate", "--ckpt", ckpt, "--data", "test.npz", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["sparse_categorical_accuracy"] > 0.95


def test_predict_reads_a_csv_with_a_header_and_writes_by_suffix(cli, workdir, normalized_run):
    x, y = normalized_run
    rows = ["a,b,c,d"] + [",".join(f"{v:.9g}" for v in row) for row in x[:50]]
    (workdir / "inputs.csv").write_text("\n".join(rows) + "\n")
    ckpt = workdir / "runs/data_test/checkpoints/last.pt"
    for output in ("p.csv", "p.h5", "p.npz"):
        result = cli("predict", "--ckpt", ckpt, "--input", "inputs.csv", "--output", output)
        assert result.exit_code == 0, result.output
    predicted = np.loadtxt(workdir / "p.csv", delimiter=",")
    assert predicted.shape == (50, 3) and (predicted.argmax(1) == y[:50]).mean() > 0.9
    with h5py.File(workdir / "p.h5") as handle:
        np.testing.assert_allclose(handle["predictions"][()], predicted, rtol=1e-5)
    np.testing.assert_allclose(np.load(workdir / "p.npz")["predictions"], predicted, rtol=1e-5)
