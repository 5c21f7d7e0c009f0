"""Helpers shared by the step-compilation and GPU tests (no tests here): the small classifier
of support_callbacks with a batch-hook recorder that can SIGKILL its own process, fits through
the CLI, and what two runs are compared on."""
from __future__ import annotations

import copy
import json
import os
import subprocess

import h5py
import numpy as np
import torch

from conftest import HANG_TIMEOUT, TRAINER, read_json, write_config
from support_callbacks import BASE

# 240 training samples, batch 32: 7 full batches and a last one of 16.
STEPS = 8

HOOKS = '''
import json
import os
import signal

from trainer.engine.callbacks import Callback


class RecordHooks(Callback):
    """Appends each train-batch hook call to hooks.jsonl; SIGKILLs itself after global step
    $KILL_AT_STEP."""
    def on_train_batch_begin(self, batch, logs=None):
        self._write({"begin": batch, "epoch": self.loop.progress.epoch})

    def on_train_batch_end(self, batch, logs=None):
        self._write({"end": batch, "epoch": self.loop.progress.epoch,
                     "global_step": self.loop.progress.global_step})
        if str(self.loop.progress.global_step) == os.environ.get("KILL_AT_STEP"):
            os.kill(os.getpid(), signal.SIGKILL)

    def _write(self, event):
        with open("hooks.jsonl", "a") as handle:
            handle.write(json.dumps(event) + "\\n")
'''


def config(workdir, name, *, compile_cfg=None, fit=None, **top):
    """<name>.yaml: BASE with these compile, fit and top-level settings (hooks.py beside it)."""
    experiment = copy.deepcopy(BASE)
    experiment["compile"].update(compile_cfg or {})
    experiment["fit"].update(fit or {})
    experiment.update(top)
    (workdir / "hooks.py").write_text(HOOKS)
    return write_config(workdir, experiment, f"{name}.yaml")


def fit(cli, workdir, name, **kwargs):
    result = cli("fit", config(workdir, name, **kwargs), "--run-dir", workdir / name, "--quiet")
    assert result.exit_code == 0, result.output
    return workdir / name


def weights(run) -> dict[str, np.ndarray]:
    with h5py.File(run / "model.weights.h5", "r") as handle:
        return {name: handle[name][()] for name in handle}


def hooks(workdir) -> list[dict]:
    lines = (workdir / "hooks.jsonl").read_text().splitlines()
    (workdir / "hooks.jsonl").unlink()
    return [json.loads(line) for line in lines]


def history(run) -> dict:
    """history.json without the wall-clock seconds."""
    record = read_json(run / "history.json")
    record["history"].pop("seconds")
    return record


def run_killed_then_resumed(workdir, name: str, kill_at: int, **settings) -> list[tuple[int, int]]:
    """`trainer fit` as a process SIGKILLed after global step `kill_at`, then run again to the
    end; returns the (epoch, step) of each resume."""
    path = config(workdir, name, **settings)

    def trainer(kill: str = "") -> subprocess.CompletedProcess:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "KILL_AT_STEP": kill}
        return subprocess.run([*TRAINER, "fit", str(path), "--run-dir", name, "--quiet"],
                              cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=HANG_TIMEOUT)
    killed = trainer(str(kill_at))
    assert killed.returncode == -9, (killed.returncode, killed.stderr)
    resumed = trainer()
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(line)
              for line in (workdir / name / "events.jsonl").read_text().splitlines()]
    return [(e["epoch"], e["step"]) for e in events if e["event"] == "resumed"]


def assert_same_run(run, reference) -> None:
    """Bit-identical weights, optimizer state and history (but its wall-clock seconds)."""
    for name, value in weights(reference).items():
        assert np.array_equal(weights(run)[name], value), name
    got, want = (torch.load(r / "checkpoints/last.pt", weights_only=True)["optimizers"]
                 for r in (run, reference))
    for param, state in want["optimizer"]["optimizer"]["state"].items():
        for key, value in state.items():
            assert torch.equal(got["optimizer"]["optimizer"]["state"][param][key], value)
    assert history(run) == history(reference)
