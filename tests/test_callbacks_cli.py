"""Callbacks as a user configures them in YAML and sees them through `trainer fit`:
ModelCheckpoint files, CSVLogger, LearningRateScheduler by file path, TerminateOnNaN,
TensorBoard without the tensorboard package, the LossHistory example."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from conftest import CONFIGS, read_json, sets
from support_callbacks import STEPS, class_interrupt, write_config


def test_model_checkpoint_template_keep_and_batch_frequency(cli, workdir):
    config = write_config(workdir, [
        {"type": "ModelCheckpoint", "filepath": "ep{epoch:02d}-{val_loss:.4f}.pt", "keep": 2},
        {"type": "ModelCheckpoint", "filepath": "b{epoch}-{batch}.weights.h5",
         "save_weights_only": True, "save_freq": 5},
        {"type": "ModelCheckpoint", "monitor": "val_sparse_categorical_accuracy",
         "save_best_only": True, "filepath": "best.pt"},
    ])
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    run = workdir / "runs/cb"
    history = read_json(run / "history.json")["history"]
    newest = sorted(p.name for p in (run / "checkpoints").glob("ep*.pt"))
    assert newest == [f"ep{e:02d}-{history['val_loss'][e - 1]:.4f}.pt" for e in (3, 4)]
    # Every 5 batches over 4 epochs of 8: global batches 5, 10, ..., 30.
    by_batch = sorted((p.name for p in (run / "checkpoints").glob("b*.weights.h5")))
    expected = sorted(f"b{(g - 1) // STEPS + 1}-{(g - 1) % STEPS + 1}.weights.h5"
                      for g in range(5, 4 * STEPS + 1, 5))
    assert by_batch == expected
    # best.pt holds the weights of the epoch with the highest validation accuracy; it is a
    # full checkpoint that continues with the next epoch.
    best = torch.load(run / "checkpoints/best.pt", weights_only=True)
    accuracy = history["val_sparse_categorical_accuracy"]
    first_best = accuracy.index(max(accuracy))
    assert best["loop"]["epoch"] == first_best + 1 and best["loop"]["step"] == 0
    assert len(best["loop"]["history"]["loss"]) == first_best + 1


def test_model_checkpoint_unknown_template_field_names_the_key(cli, workdir):
    config = write_config(workdir, [{"type": "ModelCheckpoint", "filepath": "{val_f1:.2f}.pt"}])
    result = cli("fit", config)
    assert result.exit_code == 2
    assert "fit.callbacks[0].filepath" in result.stderr and "val_f1" in result.stderr




def test_a_user_callback_sees_the_loop_as_a_training_context(cli, workdir):
    (workdir / "probe.py").write_text(
        "from trainer.engine.callbacks import Callback\n"
        "from trainer.engine.callbacks.context import TrainingContext\n"
        "class Probe(Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        p = self.loop.progress\n"
        "        assert isinstance(self.loop, TrainingContext)\n"
        "        (self.loop.run_dir.path / 'probe.txt').write_text(\n"
        "            f'{epoch} {p.epoch} {p.global_step} {sorted(p.history)[0]} {self.loop.is_main}')\n")
    assert cli("fit", write_config(workdir, ["probe.py:Probe"])).exit_code == 0
    epoch, done, step, first_key, main = (workdir / "runs/cb/probe.txt").read_text().split()
    assert (epoch, done, first_key, main) == ("3", "4", "loss", "True") and int(step) == 4 * STEPS


def test_csv_logger_separator_and_append_on_resume_without_duplicates(cli, workdir, monkeypatch):
    (workdir / "interrupt.py").write_text(class_interrupt)
    config = write_config(workdir, [{"type": "CSVLogger", "separator": ";"},
                                    {"type": "CSVLogger", "filename": "extra.csv"},
                                    "interrupt.py:InterruptAfter"])
    monkeypatch.setenv("INTERRUPT_AFTER", "1")
    assert cli("fit", config).exit_code == 75
    monkeypatch.delenv("INTERRUPT_AFTER")
    assert cli("fit", config).exit_code == 0
    run = workdir / "runs/cb"
    rows = list(csv.reader((run / "history.csv").open(), delimiter=";"))
    assert [r[0] for r in rows] == ["epoch", "0", "1", "2", "3"]
    assert rows[0][-2:] == ["lr", "seconds"]
    extra = list(csv.reader((run / "extra.csv").open()))
    assert [r[0] for r in extra] == ["epoch", "0", "1", "2", "3"]
    history = read_json(run / "history.json")["history"]
    assert [float(r[1]) for r in extra[1:]] == history["loss"]


def test_learning_rate_scheduler_from_a_file_next_to_the_config(cli, workdir):
    (workdir / "schedules.py").write_text(
        "def step_decay(epoch, lr):\n    return lr * 0.5 if epoch in (1, 3) else lr\n")
    config = write_config(workdir, [{"type": "LearningRateScheduler",
                                     "schedule": "schedules.py:step_decay"}])
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    lr = read_json(workdir / "runs/cb/history.json")["history"]["lr"]
    assert lr == pytest.approx([0.01, 0.005, 0.005, 0.0025])


def test_learning_rate_scheduler_with_a_scheduled_optimizer_is_a_config_error(cli, workdir):
    (workdir / "schedules.py").write_text("def same(epoch, lr):\n    return lr\n")
    config = write_config(workdir, [{"type": "LearningRateScheduler", "schedule": "schedules.py:same"}])
    result = cli("fit", config, *sets("compile.optimizer.learning_rate={type: ExponentialDecay, "
                                      "initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.9}"))
    assert result.exit_code == 2
    assert "fit.callbacks[0]" in result.stderr and "already schedules" in result.stderr
    assert not (workdir / "runs").exists()


def test_terminate_on_nan_exits_3_and_marks_the_run_diverged(cli, workdir):
    x = np.random.default_rng(0).normal(size=(256, 6)).astype(np.float32)
    x[70] = np.nan  # in the third batch of the first epoch
    np.savez(workdir / "nan.npz", x=x, y=np.arange(256) % 3)
    config = write_config(workdir, ["TerminateOnNaN"], validation_split=0.0, shuffle=False)
    data = {"train": {"source": "npz", "path": "nan.npz"}, "allow_nan": True}
    result = cli("fit", config, *sets(f"data={json.dumps(data)}"))
    assert result.exit_code == 3, result.output
    assert "batch 2: invalid loss nan" in result.stderr
    status = read_json(workdir / "runs/cb/status.json")
    assert status["state"] == "diverged"


def test_tensorboard_without_the_package_says_how_to_install_it(cli, workdir, monkeypatch):
    from trainer.engine.callbacks import tensorboard
    monkeypatch.setattr(tensorboard, "tensorboard_installed", lambda: False)
    config = write_config(workdir, [{"type": "TensorBoard", "update_freq": 10}])
    result = cli("fit", config)
    assert result.exit_code == 2
    assert "fit.callbacks[0]" in result.stderr and "pip install 'trainer[tensorboard]'" in result.stderr
    assert not (workdir / "runs").exists()


def test_loss_history_example_records_every_batch(cli, workdir):
    result = cli("fit", CONFIGS / "loss_history.yaml", *sets("data.train.limit=640", "fit.epochs=2"))
    assert result.exit_code == 0, result.output
    run = workdir / "runs/mnist_loss_history"
    rows = list(csv.DictReader((run / "batch_losses.csv").open()))
    assert len(rows) == 2 * 10  # 640 samples / 64 per batch, 2 epochs
    history = read_json(run / "history.json")["history"]
    # Keras logs the running mean: the last batch of an epoch is the epoch's loss.
    assert float(rows[9]["loss"]) == history["loss"][0]
    assert float(rows[19]["loss"]) == history["loss"][1]
