"""`trainer fit` on an existing run directory (SPEC sections 1 and 5): the lock, a changed
config, `--resume never`, `--resume PATH`, and `trainer runs`."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import h5py
import numpy as np

from conftest import HANG_TIMEOUT, TRAINER, read_json, sets
from support_callbacks import class_interrupt, write_config


def interrupted_run(cli, workdir, callbacks=()):
    """A run stopped (as by SIGTERM) after its first epoch: exit 75."""
    (workdir / "interrupt.py").write_text(class_interrupt)
    config = write_config(workdir, [*callbacks, "interrupt.py:InterruptAfter"])
    os.environ["INTERRUPT_AFTER"] = "0"
    try:
        result = cli("fit", config)
    finally:
        del os.environ["INTERRUPT_AFTER"]
    assert result.exit_code == 75, result.output
    assert "run the same command again to continue" in result.stderr
    return config


def test_a_live_run_dir_is_locked_exit_4_with_the_pid(cli, workdir):
    config = write_config(workdir, [], epochs=100000)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with subprocess.Popen([*TRAINER, "fit", str(config), "--quiet"], cwd=workdir, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as owner:
        try:
            status = workdir / "runs/cb/status.json"
            deadline = time.monotonic() + HANG_TIMEOUT
            while not status.is_file():
                assert owner.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            result = cli("fit", config)
        finally:
            owner.kill()
    assert result.exit_code == 4
    assert f"locked by trainer process {owner.pid}" in result.stderr


def test_a_stale_lock_is_taken_over_with_a_warning(cli, workdir):
    config = write_config(workdir, [], epochs=1)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (workdir / "runs/cb").mkdir(parents=True)
    (workdir / "runs/cb/.lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    assert f"took over the stale lock of process {dead.pid}" in result.stderr
    assert not (workdir / "runs/cb/.lock").exists()


def test_changed_config_refused_then_resume_never_and_trainer_runs(cli, workdir):
    config = interrupted_run(cli, workdir)
    result = cli("fit", config, *sets("fit.batch_size=16", "fit.epochs=5"))
    assert result.exit_code == 2
    assert "fit.batch_size" in result.stderr and "fit.epochs" in result.stderr
    assert "--resume never" in result.stderr

    result = cli("fit", config, "--resume", "never", *sets("fit.batch_size=16"))
    assert result.exit_code == 0, result.output
    assert read_json(workdir / "runs/cb-2/status.json")["state"] == "completed"

    listing = cli("runs").stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in listing[1:]}
    assert rows["cb"][1:3] == ["interrupted", "1"]
    assert rows["cb-2"][1:3] == ["completed", "4"]
    best = min(read_json(workdir / "runs/cb-2/history.json")["history"]["val_loss"])
    assert rows["cb-2"][3] == f"val_loss={best:.4f}"

    assert cli("fit", config).exit_code == 0  # the interrupted run continues
    assert read_json(workdir / "runs/cb/status.json")["state"] == "completed"


def _weights(path):
    with h5py.File(path, "r") as handle:
        return {name: handle[name][()] for name in handle}


def test_resume_from_a_model_checkpoint_file_continues_exactly(cli, workdir):
    config = write_config(workdir, ["ModelCheckpoint"])  # checkpoints/epoch_001.pt, ...
    assert cli("fit", config).exit_code == 0
    original = workdir / "runs/cb"
    result = cli("fit", config, "--resume", original / "checkpoints/epoch_002.pt",
                 "--run-dir", "runs/from-epoch-2")
    assert result.exit_code == 0, result.output
    resumed = workdir / "runs/from-epoch-2"
    want, got = read_json(original / "history.json"), read_json(resumed / "history.json")
    assert got["epoch"] == [0, 1, 2, 3]
    assert got["history"]["val_loss"] == want["history"]["val_loss"]
    w1, w2 = _weights(original / "model.weights.h5"), _weights(resumed / "model.weights.h5")
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)


def test_an_unknown_monitor_direction_fails_before_anything_is_written(cli, workdir):
    config = write_config(workdir, [{"type": "EarlyStopping", "monitor": "val_f1"}])
    result = cli("fit", config)
    assert result.exit_code == 2
    assert "fit.callbacks[0].monitor" in result.stderr and "mode: max" in result.stderr
    assert not (workdir / "runs").exists()
