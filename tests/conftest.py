"""Shared fixtures and helpers: run the `trainer` CLI in-process (fast) or as a real process
(signals, kills, exit codes), inside a temporary working directory; write configs.

Subprocess timeouts (HANG_TIMEOUT) only catch hangs: a busy machine must never trip them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

from trainer.cli.main import app
from trainer.engine import signals

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
TRAINER = [sys.executable, "-m", "trainer.cli"]
HANG_TIMEOUT = 1800  # seconds: far beyond any test's run on a loaded 2-core machine

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


@pytest.fixture(scope="module")
def cli_runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(workdir, cli_runner):
    """`cli("fit", "configs/mnist.yaml", "--set", "fit.epochs=1")` -> Result (in-process)."""
    def run(*args: str) -> Result:
        signals.clear()  # a stop signal an earlier in-process command received is not ours
        result = cli_runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)
    return run


@pytest.fixture
def trainer_process(workdir):
    """Run `trainer ...` as a separate process; returns the CompletedProcess-like Result."""
    def run(*args: str, timeout: float = HANG_TIMEOUT, env: dict | None = None) -> Result:
        proc = subprocess.run([*TRAINER, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})}, cwd=workdir)
        return Result(proc.returncode, proc.stdout, proc.stderr)
    return run


def sets(*overrides: str) -> list[str]:
    """["a=1", "b=2"] -> ["--set", "a=1", "--set", "b=2"]."""
    return [item for o in overrides for item in ("--set", o)]


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def write_config(folder: Path, config: dict[str, Any], name: str = "experiment.yaml") -> Path:
    """The one way tests write an experiment file: `config` as YAML in `folder`."""
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
