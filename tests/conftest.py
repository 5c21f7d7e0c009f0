"""Shared fixtures: run the `trainer` CLI in-process (fast) or as a real process (signals,
kills, exit codes), inside a temporary working directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from trainer.cli.main import app

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
TRAINER = [sys.executable, "-m", "trainer.cli.main"]

# Two cores: keep torch from oversubscribing when pytest and a child process both run.
torch.set_num_threads(1)

# A fast MNIST variant for tests: 1,200 training images (the last 200 for validation), 300 test.
TINY_MNIST = ["data.train.limit=1200", "data.test.limit=300", "fit.validation_split=0.1666667",
              "fit.epochs=2"]


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(workdir):
    """`cli("fit", "configs/mnist.yaml", "--set", "fit.epochs=1")` -> Result (in-process)."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)
    return run


@pytest.fixture
def trainer_process(workdir):
    """Run `trainer ...` as a separate process; returns the CompletedProcess-like Result."""
    def run(*args: str, timeout: float = 300, env: dict | None = None) -> Result:
        proc = subprocess.run([*TRAINER, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})}, cwd=workdir)
        return Result(proc.returncode, proc.stdout, proc.stderr)
    return run


def small_classifier(name: str, **fit) -> dict:
    """A config that trains in about a second: 6 features, 3 synthetic classes, 320 samples
    (a quarter held out for validation), 8 steps of 32 per epoch; `fit` keys override."""
    return {
        "name": name,
        "seed": 3,
        "device": "cpu",
        "data": {"train": {"source": "synthetic", "generator": "classification", "samples": 320,
                           "features": 6, "classes": 3, "noise": 2.5, "seed": 1}},
        "model": {"inputs": {"x": [6]},
                  "layers": [{"type": "Dense", "units": 16, "activation": "relu"},
                             {"type": "Dense", "units": 3, "activation": "softmax"}]},
        "compile": {"optimizer": {"type": "RMSprop", "learning_rate": 0.01},
                    "loss": "sparse_categorical_crossentropy",
                    "metrics": ["sparse_categorical_accuracy"]},
        "fit": {"batch_size": 32, "epochs": 2, "validation_split": 0.25, "callbacks": [], **fit},
    }


def sets(*overrides: str) -> list[str]:
    """["a=1", "b=2"] -> ["--set", "a=1", "--set", "b=2"]."""
    return [item for o in overrides for item in ("--set", o)]


def read_json(path: Path):
    return json.loads(Path(path).read_text())
