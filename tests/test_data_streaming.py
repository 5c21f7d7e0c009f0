"""Out-of-core HDF5: a split above `data.memory_budget` streams from its file in an order fixed
by (seed, epoch), training as it would in memory, with peak memory near the budget."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import torch

from conftest import HANG_TIMEOUT, read_json, write_config
from support_data import blobs, experiment, fit
from trainer.engine.config import resolve_experiment
from trainer.engine.data import DeviceBatches, StreamBatches, load_data, make_batches

CPU = torch.device("cpu")


def _streamed(workdir, n=1000, budget=4096, **fit_cfg):
    x, y = blobs(n)
    x[:, 3] = np.arange(n)  # a row id, to follow the order
    with h5py.File(workdir / "d.h5", "w") as f:
        f.create_dataset("x", data=x, chunks=(10, 4))
        f.create_dataset("y", data=y)
        f.create_dataset("w", data=np.arange(n, dtype=np.float64))
    spec = {"source": "hdf5", "path": "d.h5", "sample_weight": "w"}
    cfg = resolve_experiment(experiment(spec, data={"memory_budget": budget},
                                        fit={"validation_split": 0.0, **fit_cfg}), {}).config
    return load_data(cfg.data, cfg.fit, ["features"], ["label"]).train, y


def _rows(batches, epoch, start=0):
    return [b.x[:, 3].long().tolist() for b in batches.epoch(epoch, start)]


def test_budget_picks_streaming_or_device_staging(workdir):
    split, _ = _streamed(workdir, budget=4096)
    assert isinstance(make_batches(split, 32, CPU), StreamBatches)
    split, _ = _streamed(workdir, budget="1MB")
    assert isinstance(make_batches(split, 32, CPU), DeviceBatches)


def test_streamed_epoch_is_a_permutation_fixed_by_seed_and_epoch(workdir):
    split, y = _streamed(workdir)
    batches = make_batches(split, 32, CPU, shuffle=True, seed=7)
    assert batches.chunk_rows < 100  # several windows: the tiny budget is respected
    epoch0 = _rows(batches, 0)
    flat = [r for b in epoch0 for r in b]
    assert sorted(flat) == list(range(1000)) and flat != list(range(1000))
    assert [len(b) for b in epoch0] == [32] * 31 + [8] and len(batches) == 32
    assert _rows(make_batches(split, 32, CPU, shuffle=True, seed=7), 0) == epoch0
    assert _rows(batches, 1) != epoch0
    assert _rows(batches, 0, start=13) == epoch0[13:]  # an exact resume mid-epoch
    batch = next(batches.epoch(0))
    ids = batch.x[:, 3].long()
    assert torch.equal(batch.y, torch.from_numpy(y)[ids])
    assert batch.sample_weight.dtype == torch.float32
    assert torch.equal(batch.sample_weight, ids.float())


def test_unshuffled_stream_is_the_file_order(workdir):
    split, _ = _streamed(workdir)
    flat = [r for b in _rows(make_batches(split, 48, CPU), 0) for r in b]
    assert flat == list(range(1000))


def test_stopping_early_ends_the_reader_thread(workdir):
    import threading
    split, _ = _streamed(workdir)
    before = threading.active_count()
    iterator = make_batches(split, 32, CPU, shuffle=True).epoch(0)
    next(iterator)
    iterator.close()
    assert threading.active_count() == before


def test_streaming_trains_exactly_as_in_memory(cli, workdir):
    x, y = blobs(400)
    with h5py.File(workdir / "d.h5", "w") as f:
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
    histories = {}
    for name, budget in (("memory", "1GB"), ("stream", 2048)):
        config = experiment({"source": "hdf5", "path": "d.h5"}, name=name,
                            fit={"shuffle": False, "epochs": 2},
                            data={"memory_budget": budget,
                                  "transforms": {"x": [{"normalize": None}]}})
        assert fit(cli, write_config(workdir, config)).exit_code == 0
        histories[name] = read_json(workdir / f"runs/{name}/history.json")["history"]
    for key in ("loss", "val_loss", "val_sparse_categorical_accuracy"):
        np.testing.assert_allclose(histories["stream"][key], histories["memory"][key], rtol=1e-5)


PEAK_SCRIPT = textwrap.dedent("""
    import resource, sys
    import h5py, numpy as np, torch
    from typer.testing import CliRunner
    from trainer.cli.main import app
    torch.set_num_threads(1)
    torch.nn.functional.linear(torch.ones(64, 200), torch.ones(8, 200)).sum()  # warm up torch
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = CliRunner().invoke(app, ["fit", sys.argv[1], "--quiet"], catch_exceptions=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(result.exit_code, peak - base, flush=True)
""")


def test_training_from_a_file_larger_than_the_budget_stays_near_the_budget(workdir):
    n, features, classes = 120_000, 256, 4
    budget, margin = 16 * 2**20, 48 * 2**20
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=1.0, size=(classes, features)).astype(np.float32)
    with h5py.File(workdir / "big.h5", "w") as f:  # 123 MB of inputs, ~8x the budget
        labels = f.create_dataset("y", data=rng.integers(0, classes, size=n))
        x = f.create_dataset("x", shape=(n, features), dtype=np.float32)
        for start in range(0, n, 20_000):
            part = labels[start: start + 20_000]
            x[start: start + 20_000] = centers[part] + rng.normal(size=(len(part), features))
    assert n * features * 4 > 6 * budget
    config = experiment({"source": "hdf5", "path": "big.h5"}, name="big",
                        data={"memory_budget": budget},
                        model={"inputs": {"features": [features]}, "layers": [
                            {"type": "Dense", "units": classes, "activation": "softmax",
                             "name": "label"}]},
                        fit={"epochs": 1, "batch_size": 256, "validation_split": 0.1})
    (workdir / "peak.py").write_text(PEAK_SCRIPT)
    proc = subprocess.run([sys.executable, "peak.py", str(write_config(workdir, config))],
                          capture_output=True, text=True, cwd=workdir, timeout=HANG_TIMEOUT)
    code, growth = proc.stdout.split()[-2:]
    assert code == "0", proc.stdout + proc.stderr
    assert int(growth) < budget + margin, f"peak grew by {int(growth) / 2**20:.0f} MiB"
    history = read_json(workdir / "runs/big/history.json")["history"]
    assert history["val_sparse_categorical_accuracy"][-1] > 0.9
