"""Looking at results: curves.png in every finished or interrupted run, `trainer plot`
overlays, `trainer runs` as a table and as JSON, and fit without matplotlib."""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import read_json, sets
from trainer.cli.main import app

CONFIG = """\
name: ux_reg
seed: 3
data:
  train: {source: synthetic, generator: regression, samples: 256, features: 4}
model:
  inputs: {x: [4]}
  layers: [{type: Dense, units: 8, activation: relu}, {type: Dense, units: 1}]
compile:
  optimizer:
    type: Adam
    learning_rate: {type: ExponentialDecay, initial_learning_rate: 0.01, decay_steps: 4, decay_rate: 0.5}
  loss: mse
  metrics: [mae]
fit: {batch_size: 32, epochs: 4, validation_split: 0.25}
"""


def _invoke(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    """Three runs of one experiment: `wide` (4 epochs, lr decays), `narrow` (batch 64,
    3 epochs) and `stopped` (constant lr, interrupted by --max-time after its first epoch)."""
    root = tmp_path_factory.mktemp("ux_runs")
    config = root / "ux_reg.yaml"
    config.write_text(CONFIG)
    runs = root / "runs"
    assert _invoke("fit", config, "-q", "--run-dir", runs / "wide")[0] == 0
    assert _invoke("fit", config, "-q", "--run-dir", runs / "narrow",
                   *sets("fit.batch_size=64", "fit.epochs=3"))[0] == 0
    code, _, err = _invoke("fit", config, "-q", "--run-dir", runs / "stopped",
                           "--max-time", "0.001",
                           *sets("compile.optimizer.learning_rate=0.01"))
    assert code == 75, err
    return runs


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _has_colour(path: Path, rgb: tuple[float, float, float]) -> bool:
    from matplotlib.image import imread
    pixels = imread(path)[..., :3]
    return bool((np.abs(pixels - np.array(rgb)).max(axis=-1) < 0.05).any())


TAB_RED = (0xd6 / 255, 0x27 / 255, 0x28 / 255)   # the best-epoch marker


def test_curves_png_after_a_finished_and_an_interrupted_run(runs_dir):
    wide, stopped = runs_dir / "wide" / "curves.png", runs_dir / "stopped" / "curves.png"
    assert read_json(runs_dir / "stopped" / "status.json")["state"] == "interrupted"
    for path in (wide, stopped):
        width, height = png_size(path)
        assert 800 <= width <= 2000 and 300 <= height <= 1200, (path, width, height)
        assert 20_000 < path.stat().st_size < 1_000_000
        assert _has_colour(path, TAB_RED), f"{path}: no best-epoch marker"
    # The decaying lr gets its own panel (a third column); a constant one does not.
    assert png_size(wide)[0] > png_size(stopped)[0]


def test_runs_json_lists_each_run_with_its_summary(runs_dir):
    code, out, _ = _invoke("runs", runs_dir, "--json")
    assert code == 0
    listed = {run["name"]: run for run in json.loads(out)}
    assert sorted(listed) == ["narrow", "stopped", "wide"]
    for name, run in listed.items():
        history = read_json(runs_dir / name / "history.json")["history"]
        assert run["path"] == str(runs_dir / name)
        assert run["monitor"] == "val_loss"
        assert run["best"] == min(history["val_loss"])
        assert run["best_epoch"] == history["val_loss"].index(run["best"]) + 1
        assert run["wall_seconds"] == pytest.approx(sum(history["seconds"]))
        assert run["final"]["val_mae"] == history["val_mae"][-1]
    assert (listed["wide"]["state"], listed["wide"]["epochs"]) == ("completed", 4)
    assert (listed["narrow"]["state"], listed["narrow"]["epochs"]) == ("completed", 3)
    assert (listed["stopped"]["state"], listed["stopped"]["epochs"]) == ("interrupted", 1)
    assert listed["narrow"]["config_differences"] == {
        "compile.optimizer.learning_rate": listed["wide"]["config_differences"][
            "compile.optimizer.learning_rate"], "fit.batch_size": 64, "fit.epochs": 3}
    assert listed["stopped"]["config_differences"]["compile.optimizer.learning_rate"] == 0.01


def test_runs_table_and_sort_orders(runs_dir):
    code, out, _ = _invoke("runs", runs_dir, "--sort", "val_loss")
    assert code == 0
    header, *rows = out.splitlines()
    for column in ("name", "state", "epochs", "best", "at epoch", "time", "lowest val_loss",
                   "config differences"):
        assert column in header
    lowest = {name: min(read_json(runs_dir / name / "history.json")["history"]["val_loss"])
              for name in ("wide", "narrow", "stopped")}
    assert [row.split()[0] for row in rows] == sorted(lowest, key=lowest.get)
    narrow = next(row for row in rows if row.startswith("narrow"))
    assert "fit.batch_size=64" in narrow and "fit.epochs=3" in narrow

    code, out, _ = _invoke("runs", runs_dir, "--sort=-epochs")
    assert [row.split()[0] for row in out.splitlines()[1:]] == ["wide", "narrow", "stopped"]

    code, _, err = _invoke("runs", runs_dir, "--sort", "val_los")
    assert code == 2 and "did you mean 'val_loss'" in err


def test_plot_overlays_runs(runs_dir, tmp_path):
    output = tmp_path / "mae.png"
    code, out, err = _invoke("plot", runs_dir / "wide", runs_dir / "narrow", "--metric", "val_mae",
                             "--output", output)
    assert code == 0, err
    assert "val_mae of 2 run(s)" in out
    width, height = png_size(output)
    assert width >= 600 and height >= 400 and output.stat().st_size > 15_000

    code, _, err = _invoke("plot", runs_dir / "wide", "--metric", "val_accuracy",
                           "--output", output)
    assert code == 2 and "no 'val_accuracy'" in err and "val_mae" in err
    code, _, err = _invoke("plot", tmp_path, "--output", output)
    assert code == 2 and "no history.json" in err


def test_without_matplotlib_fit_works_says_so_once_and_plot_says_how_to_install(trainer_process, workdir):
    hide = workdir / "no_matplotlib"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['matplotlib'] = None\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(hide), os.environ.get("PYTHONPATH")]))}
    (workdir / "ux_reg.yaml").write_text(CONFIG)

    result = trainer_process("fit", "ux_reg.yaml", "-q", *sets("fit.epochs=1"), env=env)
    assert result.exit_code == 0, result.output
    run = workdir / "runs" / "ux_reg"
    assert read_json(run / "status.json")["state"] == "completed"
    assert not (run / "curves.png").exists()
    assert "curves.png not drawn: matplotlib is not installed" in (run / "train.log").read_text()
    assert result.stderr.count("curves.png not drawn: matplotlib is not installed") == 1

    result = trainer_process("plot", run, env=env)
    assert result.exit_code == 2
    assert "pip install matplotlib" in result.stderr and "Traceback" not in result.output
