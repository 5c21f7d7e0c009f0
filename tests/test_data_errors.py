"""Bad data fails `trainer fit` with exit 2 and one message naming the file and the key,
before training and before anything is written."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from conftest import write_config
from support_data import blobs, experiment, fit


def _fails(cli, workdir, config: dict, *expected: str) -> str:
    result = fit(cli, write_config(workdir, config))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.stderr, result.stderr
    assert not (workdir / "runs").exists()
    return result.stderr


def _npz(workdir, name="d.npz", **arrays) -> dict:
    np.savez(workdir / name, **arrays)
    return {"source": "npz", "path": name}


def test_missing_file(cli, workdir):
    _fails(cli, workdir, experiment({"source": "hdf5", "path": "nowhere.h5"}),
           "data.train.path", "file 'nowhere.h5' not found (looked at ")


def test_missing_hdf5_key_lists_the_datasets(cli, workdir):
    x, y = blobs(20)
    with h5py.File(workdir / "d.h5", "w") as f:
        f.create_dataset("grp/images", data=x)
        f.create_dataset("labels", data=y)
    _fails(cli, workdir, experiment({"source": "hdf5", "path": "d.h5", "x": "grp/imgs", "y": "labels"}),
           "d.h5 [grp/imgs]", "no dataset 'grp/imgs'", "grp/images")
    _fails(cli, workdir, experiment({"source": "hdf5", "path": "d.h5", "x": "grp", "y": "labels"}),
           "d.h5 [grp]", "is a group")


def test_missing_npz_key(cli, workdir):
    x, y = blobs(20)
    spec = {**_npz(workdir, x=x, y=y), "y": "labels"}
    _fails(cli, workdir, experiment(spec), "d.npz [labels]", "no array 'labels'")


def test_length_mismatch(cli, workdir):
    x, y = blobs(20)
    _fails(cli, workdir, experiment(_npz(workdir, x=x, y=y[:15])), "d.npz", "15 samples", "20")


def test_shape_that_does_not_fit_the_model_input(cli, workdir):
    x, y = blobs(20)
    spec = {**_npz(workdir, images=x[:, :3], y=y), "x": "images"}
    _fails(cli, workdir, experiment(spec), "d.npz [images]", "shape [3]", "expects [4]")


def test_labels_outside_the_output_classes(cli, workdir):
    x, y = blobs(20)
    y[13] = 7
    _fails(cli, workdir, experiment(_npz(workdir, x=x, y=y)), "d.npz [y]", "label 7", "0..2")


def test_non_numeric_csv_cell(cli, workdir):
    (workdir / "d.csv").write_text("a,b,c,d,label\n1,2,3,4,0\n1,2,oops,4,1\n")
    _fails(cli, workdir, experiment({"source": "csv", "path": "d.csv", "y": "label"},
                                    fit={"validation_split": 0.0}),
           "d.csv [column c]", "non-numeric cell 'oops' in row 3")


def test_nan_in_inputs_is_an_error_unless_allowed(cli, workdir):
    x, y = blobs(20)
    x[11, 2] = np.nan
    config = experiment(_npz(workdir, x=x, y=y), fit={"validation_split": 0.0})
    _fails(cli, workdir, config, "d.npz [x]", "NaN or inf in sample 11", "data.allow_nan")
    config["data"]["allow_nan"] = True
    result = cli("validate", write_config(workdir, config))
    assert result.exit_code == 0, result.output


def test_empty_split(cli, workdir):
    x, y = blobs(20)
    spec = _npz(workdir, x=x[:0], y=y[:0])
    _fails(cli, workdir, experiment(spec, fit={"validation_split": 0.0}), "d.npz", "split is empty")


@pytest.mark.parametrize("fraction", [1.5, -0.1, 1.0])
def test_validation_split_outside_zero_one(cli, workdir, fraction):
    x, y = blobs(20)
    _fails(cli, workdir, experiment(_npz(workdir, x=x, y=y), fit={"validation_split": fraction}),
           "fit.validation_split")


def test_validation_split_that_leaves_an_empty_split(cli, workdir):
    x, y = blobs(3)
    _fails(cli, workdir, experiment(_npz(workdir, x=x, y=y), fit={"validation_split": 0.8}),
           "d.npz", "leaves an empty split")


def test_bad_value_deep_in_a_streamed_file_is_found_before_training(cli, workdir):
    x, y = blobs(4000)
    x[3999, 0] = np.inf
    with h5py.File(workdir / "big.h5", "w") as f:
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
    config = experiment({"source": "hdf5", "path": "big.h5"}, data={"memory_budget": 8192},
                        fit={"validation_split": 0.0})
    _fails(cli, workdir, config, "big.h5 [x]", "NaN or inf in sample")
