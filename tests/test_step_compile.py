"""Whole-step compilation (`compile.jit_compile: step`) and `compile.steps_per_execution`
through the CLI: the same training as the eager loop, Keras's batch-hook semantics, and exact
resume after SIGKILL. The compiler runs with `jit_backend: eager` (dynamo's graph capture,
guards and graph breaks, without inductor's minutes of code generation on a CPU)."""
from __future__ import annotations

import copy
import json
import os
import signal
import subprocess

import h5py
import numpy as np
import pytest
import torch

from conftest import HANG_TIMEOUT, TRAINER, read_json, write_config
from support_callbacks import BASE

# 240 training samples, batch 32: 7 full batches and a last one of 16.
STEPS = 8
COMPILED = {"jit_compile": "step", "jit_backend": "eager"}

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


@pytest.fixture(autouse=True)
def fresh_compiler():
    """Each in-process fit compiles afresh: dynamo's per-function cache would otherwise count
    earlier tests' recipes towards its recompile limit and quietly fall back to eager."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _config(workdir, name, *, compile_cfg=None, fit=None, **top):
    config = copy.deepcopy(BASE)
    config["compile"].update(compile_cfg or {})
    config["fit"].update(fit or {})
    config.update(top)
    (workdir / "hooks.py").write_text(HOOKS)
    return write_config(workdir, config, f"{name}.yaml")


def _fit(cli, workdir, name, **kwargs):
    result = cli("fit", _config(workdir, name, **kwargs), "--run-dir", workdir / name, "--quiet")
    assert result.exit_code == 0, result.output
    return workdir / name


def _weights(run) -> dict[str, np.ndarray]:
    with h5py.File(run / "model.weights.h5", "r") as handle:
        return {name: handle[name][()] for name in handle}


def _hooks(workdir) -> list[dict]:
    lines = (workdir / "hooks.jsonl").read_text().splitlines()
    (workdir / "hooks.jsonl").unlink()
    return [json.loads(line) for line in lines]


def _history(run) -> dict:
    """history.json without the wall-clock seconds."""
    history = read_json(run / "history.json")
    history["history"].pop("seconds")
    return history


def test_compiled_step_trains_as_the_eager_step_including_the_last_partial_batch(cli, workdir):
    eager = _fit(cli, workdir, "eager")
    compiled = _fit(cli, workdir, "compiled", compile_cfg=COMPILED)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0, "nothing was compiled"
    want, got = _weights(eager), _weights(compiled)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)
    history, reference = (read_json(run / "history.json")["history"] for run in (compiled, eager))
    assert history["loss"] == pytest.approx(reference["loss"], rel=1e-5)
    assert history["val_loss"] == pytest.approx(reference["val_loss"], rel=1e-5)


def test_steps_per_execution_calls_batch_hooks_per_execution_and_trains_the_same(cli, workdir):
    callbacks = {"fit": {"callbacks": ["hooks.py:RecordHooks"], "epochs": 2}}
    one = _fit(cli, workdir, "one", **callbacks)
    assert len(_hooks(workdir)) == 2 * 2 * STEPS
    three = _fit(cli, workdir, "three", compile_cfg={"steps_per_execution": 3}, **callbacks)
    hooks = [h for h in _hooks(workdir) if h["epoch"] == 1]
    # Keras: on_train_batch_begin(first step of the execution), on_train_batch_end(its last);
    # the epoch's last execution is shorter.
    assert [(h.get("begin"), h.get("end")) for h in hooks] == [
        (0, None), (None, 2), (3, None), (None, 5), (6, None), (None, 7)]
    assert [h["global_step"] for h in hooks if "end" in h] == [11, 14, 16]
    for name, value in _weights(one).items():
        assert np.array_equal(_weights(three)[name], value), name
    assert _history(three) == _history(one)


def test_sigkill_resume_with_compiled_steps_per_execution_is_bit_identical(cli, workdir):
    settings = {"compile_cfg": {**COMPILED, "steps_per_execution": 3}, "deterministic": True,
                "fit": {"callbacks": ["hooks.py:RecordHooks"], "epochs": 3, "checkpoint_every": 4}}
    reference = _fit(cli, workdir, "reference", **settings)
    config = _config(workdir, "killed", **settings)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def trainer(kill_at=""):
        return subprocess.run([*TRAINER, "fit", str(config), "--run-dir", "killed", "--quiet"],
                              cwd=workdir, env={**env, "KILL_AT_STEP": kill_at},
                              capture_output=True, text=True, timeout=HANG_TIMEOUT)
    # Executions end at global steps 3, 6, 8 | 11, 14, 16 | ...; checkpoint_every 4 writes
    # last.pt after those that cross a multiple of 4 (6, 8, 14, 16, ...). Killed in the batch
    # hook after step 16, before its checkpoint: the resume starts at epoch 2, step 6.
    killed = trainer(kill_at="16")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = trainer()
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(line)
              for line in (workdir / "killed/events.jsonl").read_text().splitlines()]
    assert [(e["epoch"], e["step"]) for e in events if e["event"] == "resumed"] == [(1, 6)]
    for name, value in _weights(reference).items():
        assert np.array_equal(_weights(workdir / "killed")[name], value), name
    got, want = (torch.load(run / "checkpoints/last.pt", weights_only=True)["optimizers"]
                 for run in (workdir / "killed", reference))
    for param, state in want["optimizer"]["optimizer"]["state"].items():
        for key, value in state.items():
            assert torch.equal(got["optimizer"]["optimizer"]["state"][param][key], value)
    assert _history(workdir / "killed") == _history(reference)
