"""`trainer sweep` (real Optuna on SQLite, synthetic data, tiny models): it finds a known
optimum, prunes bad trials, validates the space before any trial, shares one study between
workers started at once, and resumes a trial killed (SIGKILL, SIGTERM, --max-time) mid-way so
that its history equals an uninterrupted run's and every trial finishes once."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import HANG_TIMEOUT, TRAINER, read_json

# y = 3x + 2 + noise, fitted by y = w x + 2 with the kernel w chosen by the sweep and a learning
# rate of 0: the validation loss is lowest at w = 3, the known optimum.
LINE = """
name: line
seed: 0
device: cpu
data:
  train: {source: synthetic, generator: linear, samples: 64, noise: 0.1}
  validation: {source: synthetic, generator: linear, samples: 64, noise: 0.1, seed: 7}
model:
  inputs: {x: [1]}
  layers:
    - {type: Dense, units: 1, name: y, kernel_initializer: {type: Constant, value: 0.0},
       bias_initializer: {type: Constant, value: 2.0}}
compile:
  optimizer: {type: SGD, learning_rate: 0.0}
  loss: mse
fit:
  batch_size: 64
  epochs: EPOCHS
  callbacks: CALLBACKS
"""
KERNEL = "model.layers[0].kernel_initializer.value"
TWO_LEARNING_RATES = """
experiment: line.yaml
trials: 2
sampler: random
pruner: none
space:
  compile.optimizer.learning_rate: {log_uniform: [0.001, 0.1]}
"""

# Signals its own process at global step $KILL_STEP of the trial whose run dir is $KILL_TRIAL.
KILLER = """
import os
import re
import signal

from trainer.engine.callbacks import Callback


class KillInTrial(Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.loop.run_dir.path.name == os.environ.get("KILL_TRIAL") and \\
                self.loop.progress.global_step == int(os.environ["KILL_STEP"]):
            os.kill(os.getpid(), getattr(signal, os.environ.get("KILL_SIGNAL", "SIGKILL")))
"""


def _write(folder: Path, sweep: str, epochs: int = 1, callbacks: str = "[]",
           batch_size: int = 64) -> Path:
    (folder / "line.yaml").write_text(LINE.replace("EPOCHS", str(epochs))
                                      .replace("CALLBACKS", callbacks)
                                      .replace("batch_size: 64", f"batch_size: {batch_size}"))
    (folder / "sweep.yaml").write_text(sweep)
    return Path("sweep.yaml")  # relative: the CLI runs in `folder`, and messages name it so


def _status(cli, sweep: Path) -> dict:
    result = cli("sweep", sweep, "--status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _history(run_dir: Path) -> dict:
    history = read_json(Path(run_dir) / "history.json")
    history["history"].pop("seconds")
    return history


def _events(run_dir: Path) -> list[str]:
    return [json.loads(line)["event"] for line in (Path(run_dir) / "events.jsonl").read_text()
            .splitlines()]


def test_search_finds_the_known_optimum_and_reports_it(cli, workdir):
    sweep = _write(workdir, f"""
experiment: line.yaml
name: line_search
trials: 14
sampler: tpe
pruner: none
space:
  {KERNEL}: {{uniform: [-5, 5]}}
""")
    result = cli("sweep", sweep, "--quiet")
    assert result.exit_code == 0, result.output
    assert "14 trials finished" in result.stdout
    status = _status(cli, sweep)
    assert [r["number"] for r in status["rows"]] == list(range(14))
    assert {r["state"] for r in status["rows"]} == {"complete"}
    assert status["metric"] == "val_loss" and status["direction"] == "minimize"
    best = status["best"]
    assert abs(best["params"][KERNEL] - 3.0) < 0.5, best
    assert best["value"] == min(r["value"] for r in status["rows"])
    # Each trial is an ordinary run dir: its config has the trial's value, `trainer runs` lists it.
    trial_config = yaml.safe_load((Path(best["run_dir"]) / "config.yaml").read_text())
    assert trial_config["model"]["layers"][0]["kernel_initializer"]["value"] == best["params"][KERNEL]
    assert read_json(Path(best["run_dir"]) / "status.json")["state"] == "completed"
    runs = json.loads(cli("runs", "sweeps/line_search/trials", "--json").stdout)
    assert len(runs) == 14
    # best.yaml is a plain experiment: it validates and trains to the best trial's value.
    folder = workdir / "sweeps" / "line_search"
    for name in ("best.yaml", "optimization_history.png", "param_importances.png"):
        assert (folder / name).is_file(), name
    assert cli("fit", folder / "best.yaml", "--run-dir", "again", "--quiet").exit_code == 0
    assert _history(workdir / "again")["history"]["val_loss"] == [best["value"]]
    assert f"best: trial {best['number']}, val_loss=" in result.stdout  # the worker's last table
    # Started again, a finished sweep starts nothing.
    again = cli("sweep", sweep, "--quiet")
    assert again.exit_code == 0 and "14 trials finished" in again.stdout
    assert len(_status(cli, sweep)["rows"]) == 14


def test_median_pruner_stops_bad_trials_after_their_first_epoch(cli, workdir):
    sweep = _write(workdir, f"""
experiment: line.yaml
trials: 8
sampler: random
seed: 3
pruner: {{type: median, startup_trials: 2}}
space:
  {KERNEL}: {{uniform: [-5, 5]}}
""", epochs=3)
    assert cli("sweep", sweep, "--quiet").exit_code == 0
    rows = _status(cli, sweep)["rows"]
    pruned = [r for r in rows if r["state"] == "pruned"]
    complete = [r for r in rows if r["state"] == "complete"]
    assert len(pruned) >= 2 and len(pruned) + len(complete) == 8, rows
    for row in pruned:  # an ordinary run that ended early, with the reason in its log
        assert row["epochs"] == 1 and row["run_state"] == "early_stopped"
        assert "Epoch 1: pruned by the sweep (val_loss=" in (Path(row["run_dir"]) / "train.log").read_text()
    assert all(r["epochs"] == 3 and r["run_state"] == "completed" for r in complete)
    # Pruned trials are the ones worse than the median of those before them.
    assert min(r["value"] for r in pruned) > min(r["value"] for r in complete)


@pytest.mark.parametrize("space, expected", [
    ("model.layers[3].units: {int: [1, 4]}", "space.model.layers[3].units (sweep.yaml:5): with "
                                             "model.layers[3].units=1: no list item 3"),
    ("compile.optimizer.learning_rate: {log_uniform: [0.1, 0.01]}",
     "space.compile.optimizer.learning_rate (sweep.yaml:5): low must be below high"),
    ("fit.batch_size: {choice: [16, -4]}", "space.fit.batch_size (sweep.yaml:5): with "
                                           "fit.batch_size=-4"),
    ("fit.batch_size: {range: [1, 2]}", "space.fit.batch_size (sweep.yaml:5): expected exactly "
                                        "one of uniform, log_uniform, int, choice"),
    ("model.layers[0].units: {int: [0, 4]}", "space.model.layers[0].units (sweep.yaml:5): with "
                                             "model.layers[0].units=0"),
])
def test_a_bad_space_is_refused_before_any_trial(cli, workdir, space, expected):
    sweep = _write(workdir, f"experiment: line.yaml\ntrials: 2\nspace:\n  # the one range\n  {space}\n")
    result = cli("sweep", sweep)
    assert result.exit_code == 2
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not (workdir / "sweeps").exists()


def test_a_bad_sweep_key_names_its_line(cli, workdir):
    sweep = _write(workdir, f"experiment: line.yaml\ntrials: 2\nmetric: val_accuracy\n"
                            f"space:\n  {KERNEL}: {{uniform: [0, 1]}}\n")
    result = cli("sweep", sweep)
    assert result.exit_code == 2
    assert "metric (sweep.yaml:3): cannot tell whether 'val_accuracy' should go up or down" \
        in result.stderr, result.stderr
    sweep.write_text(sweep.read_text().replace("metric: val_accuracy", "pruner: mean"))
    result = cli("sweep", sweep)
    assert result.exit_code == 2 and "pruner (sweep.yaml:3)" in result.stderr, result.stderr


def test_grid_sampler_covers_every_combination_once(cli, workdir):
    sweep = _write(workdir, f"experiment: line.yaml\nsampler: grid\npruner: none\nspace:\n"
                            f"  {KERNEL}: {{choice: [1.0, 3.0]}}\n"
                            f"  fit.batch_size: {{int: [16, 48], step: 16}}\n")
    assert cli("sweep", sweep, "--quiet").exit_code == 0
    rows = _status(cli, sweep)["rows"]  # trials defaults to the grid's size
    assert sorted((r["params"][KERNEL], r["params"]["fit.batch_size"]) for r in rows) == [
        (1.0, 16), (1.0, 32), (1.0, 48), (3.0, 16), (3.0, 32), (3.0, 48)]


def test_the_study_timeout_stops_new_trials(cli, workdir):
    sweep = _write(workdir, f"experiment: line.yaml\ntrials: 50\ntimeout: 0.001\n"
                            f"space:\n  {KERNEL}: {{uniform: [0, 1]}}\n")
    result = cli("sweep", sweep, "--quiet")
    assert result.exit_code == 0, result.output
    assert [r["state"] for r in _status(cli, sweep)["rows"]] == ["complete"]


def test_max_time_stops_the_worker_resumably_and_the_trials_match_uninterrupted_ones(cli, workdir):
    sweep = _write(workdir, TWO_LEARNING_RATES, epochs=2, batch_size=16)
    codes = [cli("sweep", sweep, "--quiet", "--max-time", "0.001").exit_code for _ in range(4)]
    # fit trains one epoch per invocation, and the worker stops before a new trial once late.
    assert codes == [75, 75, 75, 75]
    final = cli("sweep", sweep, "--quiet")
    assert final.exit_code == 0, final.output
    rows = _status(cli, sweep)["rows"]
    assert [(r["number"], r["state"], r["epochs"]) for r in rows] == [(0, "complete", 2),
                                                                       (1, "complete", 2)]
    for row in rows:
        assert _events(row["run_dir"]).count("resumed") == 1
        _assert_equals_uninterrupted(cli, workdir, row)


def _assert_equals_uninterrupted(cli, workdir: Path, row: dict) -> None:
    reference = workdir / f"reference-{row['number']}"
    overrides = [a for path, value in row["params"].items()
                 for a in ("--set", f"{path}={json.dumps(value) if not isinstance(value, float) else repr(value)}")]
    result = cli("fit", workdir / "line.yaml", *overrides, "--run-dir", reference, "--quiet")
    assert result.exit_code == 0, result.output
    assert (Path(row["run_dir"]) / "config.yaml").read_text() == (reference / "config.yaml").read_text()
    assert _history(row["run_dir"]) == _history(reference)


def _worker(workdir: Path, sweep: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([*TRAINER, "sweep", str(sweep), "--quiet"], cwd=workdir,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_workers_started_at_once_share_the_study_without_duplicates(cli, workdir):
    sweep = _write(workdir, f"""
experiment: line.yaml
trials: 4
sampler: random
pruner: none
space:
  {KERNEL}: {{uniform: [-5, 5]}}
""")
    workers = [_worker(workdir, sweep), _worker(workdir, sweep)]
    outputs = [w.communicate(timeout=HANG_TIMEOUT) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    rows = _status(cli, sweep)["rows"]
    assert [(r["number"], r["state"]) for r in rows] == [(n, "complete") for n in range(4)]
    assert len({r["run_dir"] for r in rows}) == 4
    for row in rows:  # each trial trained once, by one worker
        assert _events(row["run_dir"]) == ["started", "epoch", "completed"]
    started = [int(m[1]) for out, _ in outputs for m in re.finditer(r"^trial (\d+)$", out, re.M)]
    assert sorted(started) == list(range(4))


def test_sigkill_and_sigterm_mid_trial_resume_the_same_trials_exactly(cli, workdir):
    (workdir / "killer.py").write_text(KILLER)
    sweep = _write(workdir, TWO_LEARNING_RATES, epochs=2, batch_size=16,
                   callbacks="[killer.py:KillInTrial]")
    # 4 steps an epoch: step 6 is mid-way through a trial's second epoch.
    killed = _worker(workdir, sweep, KILL_TRIAL="000", KILL_STEP="6")
    out, err = killed.communicate(timeout=HANG_TIMEOUT)
    assert killed.returncode == -signal.SIGKILL, err
    stopped = _worker(workdir, sweep, KILL_TRIAL="001", KILL_STEP="5", KILL_SIGNAL="SIGTERM")
    out, err = stopped.communicate(timeout=HANG_TIMEOUT)
    assert stopped.returncode == 75, err
    assert "trial 0 (resumed)" in out and "checkpoint written at epoch 2, step 1" in err
    final = _worker(workdir, sweep)
    out, err = final.communicate(timeout=HANG_TIMEOUT)
    assert final.returncode == 0, err
    assert "trial 1 (resumed)" in out
    rows = _status(cli, sweep)["rows"]
    assert [(r["number"], r["state"], r["epochs"]) for r in rows] == [
        (0, "complete", 2), (1, "complete", 2)]
    for row in rows:
        assert _events(row["run_dir"]).count("resumed") == 1
        assert _events(row["run_dir"]).count("completed") == 1
        _assert_equals_uninterrupted(cli, workdir, row)
