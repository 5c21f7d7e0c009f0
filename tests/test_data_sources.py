"""Every data source and key mapping, through `trainer fit` where a user would use it."""
from __future__ import annotations

import gzip
import json

import h5py
import numpy as np
import pytest

from conftest import read_json, write_config
from support_data import blobs, experiment, fit
from trainer.engine.config import resolve_experiment
from trainer.engine.data import load_data


def _idx_bytes(array: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.float32): 0x0D}[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_source(fmt: str, folder, x: np.ndarray, y: np.ndarray) -> dict:
    """The same data in each format, and the split spec that reads it."""
    if fmt == "npz":
        np.savez(folder / "d.npz", x=x, y=y)
        return {"source": "npz", "path": "d.npz"}
    if fmt == "npy":
        np.save(folder / "x.npy", x)
        np.save(folder / "y.npy", y)
        return {"source": "npy", "path": "x.npy", "y_path": "y.npy"}
    if fmt == "hdf5":
        with h5py.File(folder / "d.h5", "w") as f:
            f.create_dataset("inputs/features", data=x)
            f.create_dataset("targets/label", data=y)
        return {"source": "hdf5", "path": "d.h5", "x": "inputs/features", "y": "targets/label"}
    if fmt == "csv":
        rows = ["a,b,c,d,label"] + [",".join(f"{v:.7g}" for v in r) + f",{c}" for r, c in zip(x, y)]
        (folder / "d.csv").write_text("\n".join(rows) + "\n")
        return {"source": "csv", "path": "d.csv", "y": "label"}
    if fmt == "idx":
        (folder / "x.idx.gz").write_bytes(gzip.compress(_idx_bytes(x)))
        (folder / "y.idx").write_bytes(_idx_bytes(y.astype(np.uint8)))
        return {"source": "idx", "x_path": "x.idx.gz", "y_path": "y.idx"}
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["npz", "npy", "hdf5", "csv", "idx"])
def test_each_file_format_trains_a_classifier(cli, workdir, fmt):
    x, y = blobs(300)
    spec = _write_source(fmt, workdir, x, y)
    result = fit(cli, write_config(workdir, experiment(spec)))
    assert result.exit_code == 0, result.output
    history = read_json(workdir / "runs/data_test/history.json")["history"]
    assert history["val_sparse_categorical_accuracy"][-1] > 0.9


@pytest.mark.parametrize("fmt", ["npz", "npy", "hdf5", "csv", "idx"])
def test_each_file_format_reads_the_exact_values(workdir, fmt):
    x, y = blobs(50)
    spec = _write_source(fmt, workdir, x, y)
    cfg = resolve_experiment(experiment(spec, fit={"validation_split": 0.0}), {}).config
    train = load_data(cfg.data, cfg.fit, ["features"], ["label"]).train
    np.testing.assert_allclose(train.x["features"], x, rtol=1e-6)
    np.testing.assert_array_equal(train.y["label"], y)


def _csv_config(workdir, text: str, **spec) -> object:
    (workdir / "d.csv").write_text(text)
    return resolve_experiment(experiment({"source": "csv", "path": "d.csv", **spec},
                                         fit={"validation_split": 0.0}), {}).config


def test_csv_header_detection_and_columns_by_index(workdir):
    cfg = _csv_config(workdir, "1,2,3,0\n4,5,6,2\n", y=3)
    train = load_data(cfg.data, cfg.fit, ["features"], ["label"]).train
    np.testing.assert_array_equal(train.x["features"], [[1, 2, 3], [4, 5, 6]])  # no header row
    np.testing.assert_array_equal(train.y["label"], [0, 2])
    cfg = _csv_config(workdir, "w,p,q,label\n0.5,1,2,1\n2,3,4,0\n", x=["q", 1], y="label",
                      sample_weight="w")
    train = load_data(cfg.data, cfg.fit, ["features"], ["label"]).train
    np.testing.assert_array_equal(train.x["features"], [[2, 1], [4, 3]])  # order as given
    np.testing.assert_array_equal(train.sample_weight, [0.5, 2])


def test_multi_input_from_one_hdf5_file(cli, workdir):
    x, y = blobs(300)
    with h5py.File(workdir / "multi.h5", "w") as f:
        f.create_dataset("group/left", data=x[:, :2])
        f.create_dataset("group/right", data=x[:, 2:])
        f.create_dataset("labels", data=y)
    model = {"inputs": {"left": [2], "right": [2]}, "layers": [
        {"name": "both", "type": "Concatenate", "inputs": ["left", "right"]},
        {"name": "hidden", "type": "Dense", "units": 16, "activation": "relu", "inputs": "both"},
        {"name": "label", "type": "Dense", "units": 3, "activation": "softmax", "inputs": "hidden"}]}
    spec = {"source": "hdf5", "path": "multi.h5", "x": {"left": "group/left", "right": "group/right"},
            "y": "labels"}
    result = fit(cli, write_config(workdir, experiment(spec, model=model)))
    assert result.exit_code == 0, result.output
    history = read_json(workdir / "runs/data_test/history.json")["history"]
    assert history["val_sparse_categorical_accuracy"][-1] > 0.9


def test_arrays_named_like_the_inputs_need_no_mapping(workdir):
    x, y = blobs(20)
    np.savez(workdir / "named.npz", left=x[:, :2], right=x[:, 2:], label=y)
    cfg = resolve_experiment(experiment({"source": "npz", "path": "named.npz"},
                                        fit={"validation_split": 0.0}), {}).config
    train = load_data(cfg.data, cfg.fit, ["left", "right"], ["label"]).train
    np.testing.assert_array_equal(train.x["right"], x[:, 2:])
    np.testing.assert_array_equal(train.y["label"], y)


def test_sample_weight_key_weights_the_loss(cli, workdir):
    x, y = blobs(100)
    np.savez(workdir / "w.npz", x=x, y=y, zero=np.zeros(100, np.float32), one=np.ones(100, np.float32))
    losses = {}
    for key in ("zero", "one"):
        config = experiment({"source": "npz", "path": "w.npz", "sample_weight": key},
                            fit={"epochs": 1}, name=f"w_{key}")
        assert fit(cli, write_config(workdir, config)).exit_code == 0
        losses[key] = read_json(workdir / f"runs/w_{key}/history.json")["history"]["loss"][0]
    assert losses["zero"] == 0.0 and losses["one"] > 0.05


def test_validation_split_is_the_last_fraction_and_test_is_separate(workdir):
    x, y = blobs(100)
    np.savez(workdir / "d.npz", x=x, y=y)
    np.savez(workdir / "t.npz", x=x[:7], y=y[:7])
    config = experiment({"source": "npz", "path": "d.npz"}, fit={"validation_split": 0.25},
                        data={"test": {"source": "npz", "path": "t.npz"}})
    cfg = resolve_experiment(config, {}).config
    splits = load_data(cfg.data, cfg.fit, ["features"], ["label"])
    np.testing.assert_array_equal(splits.train.x["features"], x[:75])
    np.testing.assert_array_equal(splits.validation.x["features"], x[75:])
    np.testing.assert_array_equal(splits.test.y["label"], y[:7])


def test_synthetic_generators(cli, workdir):
    config = experiment({"source": "synthetic", "generator": "classification", "samples": 300,
                         "features": 4, "classes": 3, "seed": 5})
    assert fit(cli, write_config(workdir, config)).exit_code == 0
    history = read_json(workdir / "runs/data_test/history.json")["history"]
    assert history["val_sparse_categorical_accuracy"][-1] > 0.8
    linear = resolve_experiment(experiment({"source": "synthetic", "generator": "linear",
                                            "samples": 2000, "noise": 0.1}), {}).config
    train = load_data(linear.data, linear.fit, ["features"], ["label"]).train
    slope, intercept = np.polyfit(train.x["features"][:, 0], train.y["label"][:, 0], 1)
    assert abs(slope - 3.0) < 0.05 and abs(intercept - 2.0) < 0.05
    assert json.dumps(read_json(workdir / "runs/data_test/status.json"))  # the run finished
