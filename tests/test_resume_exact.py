"""Exact resume (SPEC section 5): a run killed at random moments (SIGKILL, SIGTERM, a double
SIGINT, --max-time in a cron-style loop) and continued by re-running the same command ends
with bit-identical weights and the same history as a run that never stopped (CPU,
deterministic). The kill moments are drawn from a seeded RNG and delivered by a test-only
callback (`killer.py:KillAt`) from inside the process, so each lands exactly where intended:
mid-epoch after a batch-level checkpoint, inside a checkpoint write, during validation, at
an epoch end."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from typer.testing import CliRunner

from conftest import HANG_TIMEOUT, TRAINER
from trainer.cli.main import app

SEED = 20240517
EPOCHS, STEPS_PER_EPOCH, CHECKPOINT_EVERY = 4, 75, 20  # 1200 training samples, batch 16

CONFIG = f"""
name: resume
seed: 11
device: cpu
deterministic: true
data:
  train: {{source: synthetic, generator: classification, samples: 1600, features: 8, classes: 3,
           noise: 3.0, seed: 5}}
model:
  inputs: {{x: [8]}}
  layers:
    - {{type: Dense, units: 32, activation: relu}}
    - {{type: Dropout, rate: 0.3}}
    - {{type: Dense, units: 3, activation: softmax}}
compile:
  optimizer: {{type: RMSprop, learning_rate: 0.003}}
  loss: sparse_categorical_crossentropy
  metrics: [sparse_categorical_accuracy]
fit:
  batch_size: 16
  epochs: {EPOCHS}
  validation_split: 0.25
  checkpoint_every: {CHECKPOINT_EVERY}
  callbacks:
    - {{type: ModelCheckpoint, monitor: val_loss, save_best_only: true}}
    - {{type: CSVLogger}}
    - killer.py:KillAt
"""

# Test-only: the process signals itself at the moment $KILL_AT names.
KILLER = '''
import os
import signal
import time

from trainer.engine.callbacks import Callback


class KillAt(Callback):
    """KILL_AT=step:N (after global step N), write:N (inside the first write of last.pt after
    step N: temporary file written, not yet renamed), validation:E (epoch E's validation),
    epoch_end:E. KILL_SIGNAL names the signal (default SIGKILL); KILL_TIMES how often."""

    def __init__(self):
        kind, _, at = os.environ.get("KILL_AT", "").partition(":")
        self.kind, self.at = kind, int(at or -1)
        self.signal = getattr(signal, os.environ.get("KILL_SIGNAL", "SIGKILL"))
        self.times = int(os.environ.get("KILL_TIMES", "1"))
        if kind == "write":
            real_replace = os.replace

            def replace(src, dst):
                if str(dst).endswith("last.pt") and self.loop.progress.global_step >= self.at:
                    self.fire()
                return real_replace(src, dst)
            os.replace = replace

    def fire(self):
        for n in range(self.times):
            if n:  # a second Ctrl-C comes later than timeout's double delivery of one signal
                time.sleep(0.3)
            os.kill(os.getpid(), self.signal)
        self.kind = "fired"

    def on_train_batch_end(self, batch, logs=None):
        if self.kind == "step" and self.loop.progress.global_step == self.at:
            self.fire()

    def on_test_batch_end(self, batch, logs=None):
        if self.kind == "validation" and self.loop.progress.epoch == self.at:
            self.fire()

    def on_epoch_end(self, epoch, logs=None):
        if self.kind == "epoch_end" and epoch == self.at:
            self.fire()
'''


def _write_files(folder: Path, config: str = CONFIG) -> Path:
    (folder / "killer.py").write_text(KILLER)
    path = folder / "resume.yaml"
    path.write_text(config)
    return path


def _trainer(folder: Path, *args: str, kill: str = "", sig: str = "SIGKILL", times: int = 1,
             timeout: float = HANG_TIMEOUT) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KILL_AT": kill, "KILL_SIGNAL": sig,
           "KILL_TIMES": str(times)}
    return subprocess.run([*TRAINER, "fit", "resume.yaml", "--quiet", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=timeout)


def _weights(run: Path) -> dict[str, np.ndarray]:
    with h5py.File(run / "model.weights.h5", "r") as handle:
        return {name: handle[name][()] for name in handle}


def _history_without_seconds(run: Path) -> tuple[dict, list[str]]:
    history = json.loads((run / "history.json").read_text())
    history["history"].pop("seconds")
    lines = (run / "history.csv").read_text().splitlines()
    seconds = lines[0].split(",").index("seconds")
    csv_rows = [",".join(c for i, c in enumerate(line.split(",")) if i != seconds)
                for line in lines]
    return history, csv_rows


def assert_same_run(run: Path, reference: Path) -> None:
    got, want = _weights(run), _weights(reference)
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name], want[name]), f"weights differ: {name}"
    # Optimizer state too: a run that continues from here must also be the same.
    got_opt = torch.load(run / "checkpoints/last.pt", weights_only=True)["optimizers"]
    want_opt = torch.load(reference / "checkpoints/last.pt", weights_only=True)["optimizers"]
    for param, state in want_opt["optimizer"]["optimizer"]["state"].items():
        for key, value in state.items():
            assert torch.equal(got_opt["optimizer"]["optimizer"]["state"][param][key], value)
    assert _history_without_seconds(run) == _history_without_seconds(reference)
    assert _status(run)["state"] == _status(reference)["state"]


def _fit_in_process(folder: Path) -> Path:
    """An uninterrupted run, in this process (one thread, as the subprocesses): saves a start."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, ["fit", "resume.yaml", "--quiet"], catch_exceptions=False)
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output
    return folder / "runs/resume"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    folder = tmp_path_factory.mktemp("reference")
    _write_files(folder)
    run = _fit_in_process(folder)
    history = json.loads((run / "history.json").read_text())
    assert len(history["epoch"]) == EPOCHS and history["params"]["steps"] == STEPS_PER_EPOCH
    return run


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def test_sigkill_at_random_moments_resumes_bit_identical(tmp_path, reference):
    _write_files(tmp_path)
    run = tmp_path / "runs/resume"
    rng = random.Random(SEED)
    s1 = rng.choice([s for s in range(CHECKPOINT_EVERY + 1, STEPS_PER_EPOCH)
                     if s % CHECKPOINT_EVERY])           # mid-epoch 1, after a batch checkpoint
    s2 = rng.randint(s1 + 1, 2 * STEPS_PER_EPOCH - 10)   # inside the next last.pt write
    val_epoch = s2 // STEPS_PER_EPOCH                    # during this epoch's validation
    s5 = rng.randint((EPOCHS - 1) * STEPS_PER_EPOCH + 1, EPOCHS * STEPS_PER_EPOCH - 2)
    kills = [f"step:{s1}", f"write:{s2}", f"validation:{val_epoch}",
             f"epoch_end:{val_epoch + 1}", f"step:{s5}"]

    for kill in kills:
        result = _trainer(tmp_path, kill=kill)
        assert result.returncode == -signal.SIGKILL, (kill, result.returncode, result.stderr)
        if kill.startswith("write"):  # killed between writing the temporary file and renaming
            assert list((run / "checkpoints").glob(".last.pt.*.tmp")), "not killed mid-write"
        # Whatever the moment, last.pt is a complete checkpoint.
        torch.load(run / "checkpoints/last.pt", weights_only=True)

    # The checkpoint of the first kill was mid-epoch (batch-level checkpointing).
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    resumed = [e for e in events if e["event"] == "resumed"]
    assert resumed[0]["epoch"] == 0 and resumed[0]["step"] == s1 // CHECKPOINT_EVERY * CHECKPOINT_EVERY

    # One more at a random wall-clock moment, from outside.
    _external_kill(tmp_path, run, rng.uniform(0.0, 0.3))

    result = _trainer(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not list((run / "checkpoints").glob(".*.tmp"))
    assert_same_run(run, reference)


def _external_kill(folder: Path, run: Path, delay: float) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with subprocess.Popen([*TRAINER, "fit", "resume.yaml", "--quiet"], cwd=folder, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        events = run / "events.jsonl"
        count = len(events.read_text().splitlines())
        deadline = time.monotonic() + HANG_TIMEOUT
        while len(events.read_text().splitlines()) == count and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=HANG_TIMEOUT) == -signal.SIGKILL, "finished before the kill"


def test_sigterm_and_double_sigint_exit_75_and_resume_bit_identical(tmp_path, reference, cli):
    _write_files(tmp_path)
    run = tmp_path / "runs/resume"
    rng = random.Random(SEED + 1)
    t1 = rng.choice([s for s in range(1, STEPS_PER_EPOCH) if s % CHECKPOINT_EVERY])
    t3 = rng.choice([s for s in range(2 * STEPS_PER_EPOCH + CHECKPOINT_EVERY, 3 * STEPS_PER_EPOCH)
                     if s % CHECKPOINT_EVERY])  # epoch 3, after one of its batch checkpoints
    t4 = rng.randint(t3 + 1, 3 * STEPS_PER_EPOCH + 40)

    # SIGTERM mid-epoch: finishes the step, checkpoints exactly there.
    result = _trainer(tmp_path, kill=f"step:{t1}", sig="SIGTERM")
    assert result.returncode == 75, result.stderr
    assert "run the same command again" in result.stderr
    assert _status(run)["state"] == "interrupted"
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)["loop"]
    assert (state["epoch"], state["step"]) == (0, t1)

    # SIGTERM during validation: the epoch is completed, then it stops.
    result = _trainer(tmp_path, kill="validation:1", sig="SIGTERM")
    assert result.returncode == 75, result.stderr
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)["loop"]
    assert (state["epoch"], state["step"]) == (2, 0)

    # A second Ctrl-C stops at once: no new checkpoint, the last good one is kept.
    result = _trainer(tmp_path, kill=f"step:{t3}", sig="SIGINT", times=2)
    assert result.returncode == 75, result.stderr
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)["loop"]
    assert state["global_step"] == (t3 // CHECKPOINT_EVERY) * CHECKPOINT_EVERY
    assert _status(run)["state"] == "interrupted"

    # SIGTERM arriving inside a checkpoint write.
    result = _trainer(tmp_path, kill=f"write:{t4}", sig="SIGTERM")
    assert result.returncode == 75, result.stderr

    result = _trainer(tmp_path)
    assert result.returncode == 0, result.stderr
    assert_same_run(run, reference)

    # Finished: the same command again says so, exits 0 and touches nothing.
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    result = cli("fit", "resume.yaml")
    assert result.exit_code == 0 and "already completed" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before


def test_cron_loop_with_max_time_equals_one_uninterrupted_run(tmp_path, reference):
    _write_files(tmp_path)
    # A budget shorter than start-up plus one epoch: each call trains one epoch, then stops
    # because the next one would not fit (--max-time decides at epoch ends).
    script = f"""
    n=0
    while true; do
      n=$((n+1))
      OMP_NUM_THREADS=1 {' '.join(TRAINER)} fit resume.yaml --quiet --max-time 0.5s
      code=$?
      [ $code -eq 0 ] && break
      [ $code -ne 75 ] && {{ echo "exit $code"; exit 1; }}
      [ $n -ge 12 ] && {{ echo "too many"; exit 1; }}
    done
    echo "invocations=$n"
    """
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=HANG_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"invocations={EPOCHS}")
    assert result.stderr.count("--max-time reached") == EPOCHS - 1
    assert_same_run(tmp_path / "runs/resume", reference)


ES_CONFIG = CONFIG.replace(f"epochs: {EPOCHS}", "epochs: 30").replace(
    "    - {type: ModelCheckpoint, monitor: val_loss, save_best_only: true}\n",
    "    - {type: EarlyStopping, monitor: val_loss, min_delta: 0.002, patience: 2, "
    "restore_best_weights: true}\n"
    "    - {type: ReduceLROnPlateau, monitor: val_loss, factor: 0.5, patience: 1, min_delta: 0.002}\n"
).replace("samples: 1600", "samples: 480")


def test_early_stopping_after_a_resume_stops_at_the_same_epoch(tmp_path):
    reference_dir, resumed_dir = tmp_path / "reference", tmp_path / "resumed"
    for folder in (reference_dir, resumed_dir):
        folder.mkdir()
        _write_files(folder, ES_CONFIG)
    ref_run = _fit_in_process(reference_dir)
    history = json.loads((ref_run / "history.json").read_text())["history"]
    stopped = len(history["loss"])
    assert _status(ref_run)["state"] == "early_stopped" and stopped < 30
    assert min(history["lr"]) < history["lr"][0], "ReduceLROnPlateau never reduced the rate"

    # Interrupted right before the epoch where it stops; the resumed call stops there too.
    result = _trainer(resumed_dir, kill=f"epoch_end:{stopped - 2}", sig="SIGTERM")
    assert result.returncode == 75, result.stderr
    result = _trainer(resumed_dir)
    assert result.returncode == 0, result.stderr
    events = (resumed_dir / "runs/resume/events.jsonl").read_text().splitlines()
    assert sum('"event": "epoch"' in e for e in events) == stopped
    assert sum('"event": "resumed"' in e for e in events) == 1
    run = resumed_dir / "runs/resume"
    assert_same_run(run, ref_run)  # the same stop epoch and the same restored best weights
