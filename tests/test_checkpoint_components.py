"""A checkpoint remembers where its config's `file.py:Name` components live, so evaluate,
predict and summary work from any working directory (once the user trusts its code)."""
from __future__ import annotations

import json

import numpy as np

from conftest import CONFIGS, sets


def test_evaluate_and_predict_find_user_components_from_another_directory(cli, workdir, monkeypatch):
    run_dir = workdir / "run"
    result = cli("fit", CONFIGS / "huber_regression.yaml", "--run-dir", run_dir,
                 *sets("fit.epochs=1", "data.train.samples=300"))
    assert result.exit_code == 0, result.output
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ckpt = run_dir / "checkpoints/last.pt"

    evaluated = cli("evaluate", "--ckpt", ckpt, "--split", "validation", "--json",
                    "--trust-checkpoint-code")
    assert evaluated.exit_code == 0, evaluated.output
    history = json.loads((run_dir / "history.json").read_text())["history"]
    assert json.loads(evaluated.stdout)["huber_metric"] == history["val_huber_metric"][-1]

    np.save(elsewhere / "x.npy", np.zeros((5, 8), dtype=np.float32))
    predicted = cli("predict", "--ckpt", ckpt, "--input", "x.npy", "--output", "p.npy",
                    "--trust-checkpoint-code")
    assert predicted.exit_code == 0, predicted.output
    assert np.load(elsewhere / "p.npy").shape == (5, 1)
    assert cli("summary", "--ckpt", ckpt, "--trust-checkpoint-code").exit_code == 0
