"""Fit controls over the data: steps_per_epoch (the pass continues across epochs, Keras 3),
validation_steps, validation_freq and validation_batch_size, through `trainer fit`."""
from __future__ import annotations

import json

import numpy as np

from conftest import read_json, write_config
from support_data import blobs, experiment, fit
from trainer.engine.data import epoch_plan


def test_epoch_plan_continues_the_pass_across_epochs():
    # 5 batches per pass, 3 steps per epoch: epochs of 3 and 2 steps, a new pass every 2 epochs
    assert [epoch_plan(e, 3, 5) for e in range(4)] == [(0, 0, 3), (0, 3, 2), (1, 0, 3), (1, 3, 2)]
    assert [epoch_plan(e, 8, 5) for e in range(2)] == [(0, 0, 5), (1, 0, 5)]
    assert epoch_plan(4, None, 5) == (4, 0, 5)


def _run(cli, workdir, name: str, **fit_cfg) -> tuple[dict, dict]:
    x, y = blobs(100)
    np.savez(workdir / "d.npz", x=x, y=y)
    config = experiment({"source": "npz", "path": "d.npz"}, name=name,
                        fit={"batch_size": 16, "validation_split": 0.2, **fit_cfg})
    result = fit(cli, write_config(workdir, config, f"{name}.yaml"))
    assert result.exit_code == 0, result.output
    return (read_json(workdir / f"runs/{name}/history.json"),
            read_json(workdir / f"runs/{name}/status.json"))


def test_steps_per_epoch_continues_the_iterator(cli, workdir):
    # 80 training samples, batch 16: 5 batches per pass; 3 steps per epoch -> 3, 2, 3, 2 steps
    history, status = _run(cli, workdir, "steps", steps_per_epoch=3, epochs=4)
    assert status["step"] == 10
    assert history["params"]["steps"] == 3
    assert len(history["history"]["loss"]) == 4


def test_validation_freq_validates_every_nth_epoch(cli, workdir):
    history, _ = _run(cli, workdir, "freq", validation_freq=2, epochs=3)
    val = history["history"]["val_loss"]
    assert val[0] is None and val[1] is not None and val[2] is None


def test_validation_steps_and_batch_size_use_the_first_batches(cli, workdir):
    history, _ = _run(cli, workdir, "vsteps", validation_steps=1, validation_batch_size=5, epochs=1)
    x, y = blobs(100)
    np.savez(workdir / "first5.npz", x=x[80:85], y=y[80:85])  # the first validation batch
    result = cli("evaluate", "--ckpt", workdir / "runs/vsteps/checkpoints/last.pt",
                 "--data", "first5.npz", "--json")
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(history["history"]["val_loss"][0], evaluated["loss"], rtol=1e-5)
