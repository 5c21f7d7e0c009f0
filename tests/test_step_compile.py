"""Whole-step compilation (`compile.jit_compile: step`) and `compile.steps_per_execution`
through the CLI: the same training as the eager loop, Keras's batch-hook semantics, and exact
resume after SIGKILL. The compiler runs with `jit_backend: eager` (dynamo's graph capture,
guards and graph breaks, without inductor's minutes of code generation on a CPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import read_json
from support_steps import (STEPS, assert_same_run, config, fit, history, hooks,
                           run_killed_then_resumed, weights)

COMPILED = {"jit_compile": "step", "jit_backend": "eager"}


@pytest.fixture(autouse=True)
def fresh_compiler():
    """Each in-process fit compiles afresh: dynamo's per-function cache would otherwise count
    earlier tests' recipes towards its recompile limit and quietly fall back to eager."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_compiled_step_trains_as_the_eager_step_including_the_last_partial_batch(cli, workdir):
    eager = fit(cli, workdir, "eager")
    compiled = fit(cli, workdir, "compiled", compile_cfg=COMPILED)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0, "nothing was compiled"
    want, got = weights(eager), weights(compiled)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)
    logs, reference = (read_json(run / "history.json")["history"] for run in (compiled, eager))
    assert logs["loss"] == pytest.approx(reference["loss"], rel=1e-5)
    assert logs["val_loss"] == pytest.approx(reference["val_loss"], rel=1e-5)


def test_steps_per_execution_calls_batch_hooks_per_execution_and_trains_the_same(cli, workdir):
    callbacks = {"fit": {"callbacks": ["hooks.py:RecordHooks"], "epochs": 2}}
    one = fit(cli, workdir, "one", **callbacks)
    assert len(hooks(workdir)) == 2 * 2 * STEPS
    three = fit(cli, workdir, "three", compile_cfg={"steps_per_execution": 3}, **callbacks)
    second_epoch = [h for h in hooks(workdir) if h["epoch"] == 1]
    # Keras: on_train_batch_begin(first step of the execution), on_train_batch_end(its last);
    # the epoch's last execution is shorter.
    assert [(h.get("begin"), h.get("end")) for h in second_epoch] == [
        (0, None), (None, 2), (3, None), (None, 5), (6, None), (None, 7)]
    assert [h["global_step"] for h in second_epoch if "end" in h] == [11, 14, 16]
    for name, value in weights(one).items():
        assert np.array_equal(weights(three)[name], value), name
    assert history(three) == history(one)


def test_sigkill_resume_with_compiled_steps_per_execution_is_bit_identical(cli, workdir):
    settings = {"compile_cfg": {**COMPILED, "steps_per_execution": 3}, "deterministic": True,
                "fit": {"callbacks": ["hooks.py:RecordHooks"], "epochs": 3, "checkpoint_every": 4}}
    reference = fit(cli, workdir, "reference", **settings)
    # Executions end at global steps 3, 6, 8 | 11, 14, 16 | ...; checkpoint_every 4 writes
    # last.pt after those that cross a multiple of 4 (6, 8, 14, 16, ...). Killed in the batch
    # hook after step 16, before its checkpoint: the resume starts at epoch 2, step 6.
    resumes = run_killed_then_resumed(workdir, "killed", 16, **settings)
    assert resumes == [(1, 6)]
    assert_same_run(workdir / "killed", reference)


def test_a_compile_mode_without_inductor_is_a_config_error(cli, workdir):
    path = config(workdir, "bad", compile_cfg={"jit_mode": "reduce-overhead", "jit_backend": "eager"})
    result = cli("validate", path)
    assert result.exit_code == 2
    assert "compile" in result.stderr and "needs jit_backend inductor (got eager)" in result.stderr
