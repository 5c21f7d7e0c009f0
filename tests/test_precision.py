"""Mixed precision and torch.compile through the CLI."""
from __future__ import annotations

import pytest
import torch

from conftest import CONFIGS, read_json, sets

TINY = ["data.train.limit=6000", "data.test.limit=1000", "fit.epochs=2"]


def _test_accuracy(cli, run_dir, *overrides) -> float:
    result = cli("fit", CONFIGS / "mnist.yaml", "--run-dir", run_dir, *sets(*TINY, *overrides))
    assert result.exit_code == 0, result.output
    return read_json(run_dir / "metrics.json")["sparse_categorical_accuracy"]


def test_bf16_autocast_trains_to_the_fp32_accuracy_band(cli, workdir):
    fp32 = _test_accuracy(cli, workdir / "fp32")
    bf16 = _test_accuracy(cli, workdir / "bf16", "precision=bf16-mixed")
    assert fp32 > 0.75
    assert abs(bf16 - fp32) < 0.03


def test_precision_may_be_written_as_a_number(cli):
    """`precision: 32` unquoted in YAML, or --set precision=32, means "32"."""
    result = cli("validate", CONFIGS / "mnist.yaml", *sets("precision=32", "data.train.limit=200"))
    assert result.exit_code == 0, result.output


def test_jit_compile_matches_eager(cli, workdir):
    eager = _test_accuracy(cli, workdir / "eager", "data.train.limit=600", "fit.epochs=1")
    compiled = _test_accuracy(cli, workdir / "compiled", "data.train.limit=600", "fit.epochs=1",
                              "compile.jit_compile=true")
    assert abs(compiled - eager) < 0.02
    history = read_json(workdir / "compiled" / "history.json")["history"]
    reference = read_json(workdir / "eager" / "history.json")["history"]
    assert history["loss"][0] == pytest.approx(reference["loss"][0], rel=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 GradScaler needs CUDA")
def test_fp16_scaler_state_survives_resume(cli, workdir):
    args = [CONFIGS / "mnist.yaml", "--device", "cuda", *sets(*TINY, "precision=16-mixed")]
    assert cli("fit", "--run-dir", workdir / "straight", *args).exit_code == 0
    # --max-time stops after the first epoch (exit 75); the same command then resumes.
    assert cli("fit", "--run-dir", workdir / "resumed", "--max-time", "0.001", *args).exit_code == 75
    assert cli("fit", "--run-dir", workdir / "resumed", *args).exit_code == 0

    def scaler(run):
        return torch.load(workdir / run / "checkpoints/last.pt", weights_only=True)["scalers"]["optimizer"]
    straight, resumed = scaler("straight"), scaler("resumed")
    assert resumed["scale"] == straight["scale"]
    assert resumed["_growth_tracker"] == straight["_growth_tracker"] > 0
