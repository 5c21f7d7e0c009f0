"""The CUDA paths on a real GPU (skipped without one; bench/gpu_check.sh runs them on the
device): exact resume after SIGKILL with `deterministic: true`, fp16/bf16 against fp32,
compiled against eager, channels-last against channels-first, and evaluate/predict on CUDA
against the CPU."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import CONFIGS, read_json, sets
from support_steps import assert_same_run, fit, run_killed_then_resumed

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (bench/gpu_check.sh runs these on one)")

MNIST = ["data.train.limit=20000", "data.test.limit=2000", "fit.epochs=2", "fit.callbacks=[]"]


@pytest.fixture(autouse=True)
def fresh_compiler():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _fit_mnist(cli, run_dir, config="mnist.yaml", *overrides) -> dict:
    result = cli("fit", CONFIGS / config, "--run-dir", run_dir, "--device", "cuda", "--quiet",
                 *sets(*MNIST, *overrides))
    assert result.exit_code == 0, result.output
    return {"test": read_json(run_dir / "metrics.json"),
            "history": read_json(run_dir / "history.json")["history"]}


@pytest.mark.parametrize("compile_cfg", [{}, {"jit_compile": "step", "jit_mode": "reduce-overhead",
                                              "steps_per_execution": 3}], ids=["eager", "cuda-graphs"])
def test_sigkill_resume_on_cuda_is_bit_identical_with_deterministic(cli, workdir, compile_cfg):
    settings = {"device": "cuda", "deterministic": True, "compile_cfg": compile_cfg,
                "fit": {"callbacks": ["hooks.py:RecordHooks"], "epochs": 3, "checkpoint_every": 4}}
    reference = fit(cli, workdir, "reference", **settings)
    kill_at = 16 if compile_cfg else 13
    resumes = run_killed_then_resumed(workdir, "killed", kill_at, **settings)
    assert resumes and resumes[0][0] == 1 and resumes[0][1] > 0  # mid-epoch 2
    assert_same_run(workdir / "killed", reference)


def test_fp16_and_bf16_train_to_the_fp32_accuracy_band(cli, workdir):
    fp32 = _fit_mnist(cli, workdir / "fp32")["test"]["sparse_categorical_accuracy"]
    assert fp32 > 0.9
    for precision in ("bf16-mixed", "16-mixed"):
        got = _fit_mnist(cli, workdir / precision, "mnist.yaml", f"precision={precision}")
        assert abs(got["test"]["sparse_categorical_accuracy"] - fp32) < 0.02, precision
    scaler = torch.load(workdir / "16-mixed/checkpoints/last.pt", weights_only=True)["scalers"]
    assert scaler["optimizer"]["scale"] > 0


@pytest.mark.parametrize("compile_cfg", [
    ["compile.jit_compile=true"],
    ["compile.jit_compile=step"],
    ["compile.jit_compile=step", "compile.jit_mode=reduce-overhead", "compile.steps_per_execution=4"],
], ids=["models", "step", "step-cuda-graphs"])
def test_compiled_training_equals_eager_within_tolerance(cli, workdir, compile_cfg):
    # 16,667 training images in batches of 64: the last batch (27) takes the eager path.
    eager = _fit_mnist(cli, workdir / "eager")
    compiled = _fit_mnist(cli, workdir / "compiled", "mnist.yaml", *compile_cfg)
    assert compiled["history"]["loss"] == pytest.approx(eager["history"]["loss"], rel=2e-2)
    assert abs(compiled["test"]["sparse_categorical_accuracy"]
               - eager["test"]["sparse_categorical_accuracy"]) < 0.01


def test_channels_last_cnn_equals_channels_first(cli, workdir):
    first = _fit_mnist(cli, workdir / "first", "mnist_cnn.yaml", "fit.epochs=1")
    last = _fit_mnist(cli, workdir / "last", "mnist_cnn.yaml", "fit.epochs=1", "channels_last=true")
    assert last["history"]["loss"] == pytest.approx(first["history"]["loss"], rel=1e-2)
    assert abs(last["test"]["sparse_categorical_accuracy"]
               - first["test"]["sparse_categorical_accuracy"]) < 0.01


def test_evaluate_and_predict_on_cuda_equal_the_cpu(cli, workdir):
    _fit_mnist(cli, workdir / "run", "mnist.yaml", "fit.epochs=1")
    ckpt = workdir / "run/checkpoints/last.pt"
    results = {}
    for device in ("cpu", "cuda"):
        result = cli("evaluate", "--ckpt", ckpt, "--json", "--device", device)
        assert result.exit_code == 0, result.output
        results[device] = json.loads(result.stdout)
    for name, value in results["cpu"].items():
        assert results["cuda"][name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
    images = np.random.default_rng(0).random((300, 784), dtype=np.float32)
    np.save(workdir / "x.npy", images)
    predictions = {}
    for device in ("cpu", "cuda"):
        result = cli("predict", "--ckpt", ckpt, "--input", workdir / "x.npy",
                     "--output", workdir / f"{device}.npy", "--device", device)
        assert result.exit_code == 0, result.output
        predictions[device] = np.load(workdir / f"{device}.npy")
    np.testing.assert_allclose(predictions["cuda"], predictions["cpu"], rtol=1e-4, atol=1e-5)
