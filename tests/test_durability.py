"""Durable checkpoints: a sealed checksum checked on every load, keep-last-K rotation, fallback
to the newest good checkpoint (never a silent fresh start), `trainer verify`, and the reduced
chaos suite (tests/chaos.py: at least 20 SIGKILLs and 20 damaged checkpoints)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, read_json, sets

CONFIG = """
name: durable
seed: 2
device: cpu
data:
  train: {source: synthetic, generator: classification, samples: 96, features: 4, classes: 2,
          seed: 1}
model:
  inputs: {x: [4]}
  layers:
    - {type: Dense, units: 2, activation: softmax}
compile: {optimizer: adam, loss: sparse_categorical_crossentropy}
fit: {batch_size: 16, epochs: 2, validation_split: 0.25, checkpoint_every: 2}
"""


def _run(cli, workdir, *overrides):
    (workdir / "d.yaml").write_text(CONFIG)
    result = cli("fit", "d.yaml", "--quiet", *sets(*overrides))
    assert result.exit_code == 0, result.output
    return workdir / "runs/durable"


def test_rotation_keeps_last_and_k_minus_one_previous(cli, workdir):
    run = _run(cli, workdir, "fit.keep_checkpoints=3")
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert len(names) == 3 and "last.pt" in names, names
    previous = sorted(int(n[len("previous-"):-3]) for n in names if n.startswith("previous-"))
    assert previous == [previous[0], previous[0] + 1]  # the two newest before last.pt
    assert cli("verify", run).exit_code == 0


def test_damaged_checkpoint_is_refused_in_trainers_words(cli, workdir):
    run = _run(cli, workdir)
    last = run / "checkpoints/last.pt"
    data = bytearray(last.read_bytes())
    data[len(data) // 2] ^= 0x10          # one flipped bit: torch itself would load it
    last.write_bytes(bytes(data))
    evaluated = cli("evaluate", "--ckpt", last)
    assert evaluated.exit_code == 2
    assert "damaged checkpoint: the checksum does not match" in evaluated.output
    assert "torch" not in evaluated.output and "weights_only" not in evaluated.output
    verified = cli("verify", run)
    assert verified.exit_code == 2
    assert f"{last} is damaged: fit would fall back to" in verified.output
    last.write_bytes(bytes(data[:1000]))   # truncated
    assert "truncated or incomplete" in cli("verify", last).output


def test_fit_refuses_a_silent_fresh_start(cli, workdir):
    run = _run(cli, workdir, "fit.epochs=1")
    status = read_json(run / "status.json")
    (run / "status.json").write_text(json.dumps({**status, "state": "interrupted"}))
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    result = cli("fit", "d.yaml", "--quiet", *sets("fit.epochs=1"))
    assert result.exit_code == 2
    assert "no checkpoint to resume from" in result.output and "--resume never" in result.output


def test_reduced_chaos_suite(workdir):
    """One run SIGKILLed at 22 seeded moments, re-run until it finishes; 20 damaged copies of
    a killed run's last.pt (or of all its checkpoints) given to evaluate and fit."""
    report = workdir / "chaos.json"
    proc = subprocess.run([sys.executable, str(REPO / "tests/chaos.py"), "--reduced",
                           "--json", str(report)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = read_json(report)
    assert summary["failures"] == []
    assert summary["kills"] >= 20 and summary["damaged"] >= 20
    assert all(run["identical"] for run in summary["runs"])
    phases = {row["phase"] for row in summary["by_phase"]}
    assert {"mid-epoch", "rename window", "epoch end"} <= phases, phases


KILL_RANK_ONE = '''
import os
import signal
from pathlib import Path

from trainer.engine.callbacks import Callback


class KillRankOne(Callback):
    """SIGKILL rank 1 after global step 15, once (a marker file remembers)."""

    def on_train_batch_end(self, batch, logs=None):
        marker = Path("killed.marker")
        if os.environ.get("RANK") == "1" and self.loop.progress.global_step == 15 and not marker.exists():
            marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
'''


def test_torchrun_restart_after_a_worker_sigkill_resumes_bit_identical(workdir):
    """torchrun --max-restarts: the group restarted after rank 1 is SIGKILLed mid-epoch 2
    resumes from the last checkpoint by itself and ends as an uninterrupted 2-rank run."""
    from chaos import differences
    (workdir / "kill_rank_one.py").write_text(KILL_RANK_ONE)
    (workdir / "d.yaml").write_text(CONFIG)
    overrides = sets("deterministic=true", "fit.epochs=3", "data.train.samples=192",
                     "fit.checkpoint_every=4", "fit.callbacks=[{type: kill_rank_one.py:KillRankOne}]")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def torchrun(run: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                               "--nproc-per-node=2", *extra, "-m", "trainer.cli.main", "fit",
                               "d.yaml", "--quiet", "--run-dir", run, *overrides],
                              cwd=workdir, env=env, capture_output=True, text=True, timeout=600)

    (workdir / "killed.marker").write_text("not this run")
    reference = torchrun("runs/reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    (workdir / "killed.marker").unlink()
    restarted = torchrun("runs/restarted", "--max-restarts=2")
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert (workdir / "killed.marker").read_text() == "killed"
    events = [json.loads(line)["event"]
              for line in (workdir / "runs/restarted/events.jsonl").read_text().splitlines()]
    assert events.count("resumed") == 1 and events[-1] == "completed", events
    assert differences(workdir / "runs/restarted", workdir / "runs/reference") == []
