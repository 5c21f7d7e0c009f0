"""TensorBoard and MLflow as a user configures them, read back with their own readers
(tensorboard's EventAccumulator, mlflow.MlflowClient on a real sqlite store) and checked
against history.csv -- fresh runs, SIGTERM and resume, divergence, kill -9 and resume, an
unreachable tracking server."""
from __future__ import annotations

import copy
import csv
import signal

import mlflow
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import conftest
from conftest import sets
from support_callbacks import BASE as SMALL_CLASSIFIER
from trainer.engine.state.checkpoint import load_checkpoint

STEPS = 8  # 240 training samples / 32

# A user callback that stops its own process (once: it leaves a marker) at an epoch's end,
# after the callbacks listed before it have run and before the epoch's checkpoint.
SIGNAL_AT_EPOCH_END = '''
import os, signal
from pathlib import Path
from trainer.engine.callbacks import Callback

class SignalAt(Callback):
    def __init__(self, epoch, signal_name="SIGKILL"):
        self.epoch, self.signal_name = epoch, signal_name

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch and not Path("signalled").exists():
            Path("signalled").touch()
            os.kill(os.getpid(), getattr(signal, self.signal_name))
'''


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One sqlite MLflow store for the module (creating one runs MLflow's migrations)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def write_config(workdir, callbacks=(), mlflow_settings=None, **fit):
    """track.yaml: the small classifier, 3 epochs, with these callbacks and MLflow settings."""
    config = copy.deepcopy(SMALL_CLASSIFIER)
    config["name"] = "track"
    config["fit"].update({"epochs": 3, "callbacks": list(callbacks), **fit})
    if mlflow_settings is not None:
        config["loggers"] = {"mlflow": mlflow_settings}
    (workdir / "signal_at.py").write_text(SIGNAL_AT_EPOCH_END)
    return conftest.write_config(workdir, config, "track.yaml")


def history_csv(run_dir):
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    return {key: [float(r[key]) for r in rows] for key in rows[0]}


def scalars(log_dir, purge=True):
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0},
                              purge_orphaned_data=purge)
    events.Reload()
    return events, {tag: [(e.step, e.value) for e in events.Scalars(tag)]
                    for tag in events.Tags()["scalars"]}


def mlflow_run(store, experiment):
    client = mlflow.MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert len(runs) == 1
    return client, runs[0]


def metric_series(client, run, key):
    return sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))


def test_tensorboard_writes_keras_layout_lr_hparams_and_histograms(cli, workdir):
    config = write_config(workdir, [{"type": "TensorBoard", "histogram_freq": 1,
                                     "update_freq": 4}])
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    run = workdir / "runs/track"
    history = history_csv(run)
    train_events, train = scalars(run / "logs/train")
    _, validation = scalars(run / "logs/validation")
    # Train and val_ values share one tag (epoch_loss), in two runs, at step = epoch.
    assert train["epoch_loss"] == [(e, pytest.approx(v, rel=1e-6))
                                   for e, v in zip(history["epoch"], history["loss"])]
    assert validation["epoch_loss"] == [(e, pytest.approx(v, rel=1e-6))
                                        for e, v in zip(history["epoch"], history["val_loss"])]
    assert [v for _, v in validation["epoch_sparse_categorical_accuracy"]] == pytest.approx(
        history["val_sparse_categorical_accuracy"], rel=1e-6)
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx(history["lr"])
    # update_freq=4: batch scalars every 4th global batch; the last batch of an epoch is the
    # epoch's running mean, as Keras logs it.
    assert [s for s, _ in train["batch_loss"]] == list(range(4, 3 * STEPS + 1, 4))
    assert dict(train["batch_loss"])[STEPS] == pytest.approx(history["loss"][0], rel=1e-6)
    assert "val_loss" not in str(train) and "epoch_seconds" not in train
    histograms = train_events.Tags()["histograms"]
    assert {"dense/kernel", "dense/bias", "dense_1/kernel"} <= set(histograms)
    assert [h.step for h in train_events.Histograms("dense/kernel")] == [0, 1, 2]
    assert train_events.Tags()["graph"]
    root = EventAccumulator(str(run / "logs"))
    root.Reload()
    content = root.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    session = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert session.hparams["fit.batch_size"].number_value == 32
    assert session.hparams["compile.optimizer.type"].string_value == "RMSprop"


def test_mlflow_records_params_metrics_tags_artifacts_and_finished(cli, workdir, store):
    config = write_config(workdir, mlflow_settings={"tracking_uri": store, "experiment": "fresh",
                                                    "tags": {"team": "vision"}})
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    run_dir = workdir / "runs/track"
    client, run = mlflow_run(store, "fresh")
    assert run.info.status == "FINISHED" and run.info.run_name == "track"
    history = history_csv(run_dir)
    for key in ("loss", "val_loss", "sparse_categorical_accuracy", "lr"):
        assert metric_series(client, run, key) == list(zip(history["epoch"], history[key]))
    params = run.data.params
    assert params["fit.batch_size"] == "32" and params["model.layers.0.units"] == "16"
    assert "device" not in params
    tags = run.data.tags
    assert tags["team"] == "vision" and tags["torch.version"] == torch.__version__
    assert tags["trainer.config_hash"] == load_checkpoint(run_dir / "checkpoints/last.pt")["config_hash"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "history.csv", "model.weights.h5", "curves.png"} <= artifacts


def test_mlflow_run_is_killed_on_sigterm_continued_on_resume_failed_on_divergence(
        cli, workdir, store):
    config = write_config(workdir, [{"type": "signal_at.py:SignalAt", "epoch": 0,
                                     "signal_name": "SIGTERM"}],
                          mlflow_settings={"tracking_uri": store, "experiment": "sigterm"})
    first = cli("fit", config)
    assert first.exit_code == 75, first.output
    client, run = mlflow_run(store, "sigterm")
    assert run.info.status == "KILLED"
    assert [s for s, _ in metric_series(client, run, "loss")] == [0]
    second = cli("fit", config)
    assert second.exit_code == 0, second.output
    client, resumed = mlflow_run(store, "sigterm")  # the same MLflow run, continued
    assert resumed.info.run_id == run.info.run_id and resumed.info.status == "FINISHED"
    history = history_csv(workdir / "runs/track")
    assert metric_series(client, resumed, "loss") == list(zip(history["epoch"], history["loss"]))

    diverging = write_config(workdir, ["TerminateOnNaN"],
                             mlflow_settings={"tracking_uri": store, "experiment": "nan"})
    result = cli("fit", diverging, "--run-dir", "runs/nan",
                 *sets("compile.optimizer.learning_rate=1.0e+30"))
    assert result.exit_code == 3, result.output
    assert mlflow_run(store, "nan")[1].info.status == "FAILED"


def test_mlflow_skips_steps_it_has_when_a_resume_recomputes_them(cli, workdir, store):
    """Resuming from an earlier checkpoint recomputes epochs the MLflow run already has (as
    after a kill between an epoch's logging and its checkpoint): each step stays once."""
    config = write_config(workdir, [{"type": "ModelCheckpoint", "filepath": "ep{epoch}.pt"}],
                          mlflow_settings={"tracking_uri": store, "experiment": "again"})
    assert cli("fit", config).exit_code == 0
    again = cli("fit", config, "--resume", "runs/track/checkpoints/ep1.pt")
    assert again.exit_code == 0, again.output
    client, run = mlflow_run(store, "again")
    history = history_csv(workdir / "runs/track")
    assert metric_series(client, run, "val_loss") == list(zip(history["epoch"], history["val_loss"]))


def test_kill_9_and_resume_leave_one_value_per_step_in_tensorboard_and_mlflow(
        trainer_process, cli, workdir, store):
    # TensorBoard flushes epoch 1 before the kill, the checkpoint is at the end of epoch 0:
    # the resumed run writes epoch 1 again and the first one must be gone.
    config = write_config(workdir, [{"type": "TensorBoard", "update_freq": 3},
                                    {"type": "signal_at.py:SignalAt", "epoch": 1}],
                          mlflow_settings={"tracking_uri": store, "experiment": "kill9"},
                          checkpoint_every=5)
    killed = trainer_process("fit", config)
    assert killed.exit_code == -signal.SIGKILL, killed.output
    run_dir = workdir / "runs/track"
    _, before = scalars(run_dir / "logs/train", purge=False)
    assert [s for s, _ in before["epoch_loss"]] == [0, 1]
    resumed = cli("fit", config)  # in-process: the kill was the other process's
    assert resumed.exit_code == 0, resumed.output
    history = history_csv(run_dir)
    _, train = scalars(run_dir / "logs/train", purge=False)  # the files themselves, unpurged
    assert train["epoch_loss"] == [(e, pytest.approx(v, rel=1e-6))
                                   for e, v in zip(history["epoch"], history["loss"])]
    assert [s for s, _ in train["batch_loss"]] == list(range(3, 3 * STEPS + 1, 3))
    client, run = mlflow_run(store, "kill9")
    assert run.info.status == "FINISHED"
    for key in ("loss", "val_loss", "seconds"):
        assert metric_series(client, run, key) == list(zip(history["epoch"], history[key]))


def test_unreachable_tracking_server_is_a_warning_and_training_completes(cli, workdir,
                                                                         monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    config = write_config(workdir, mlflow_settings={"tracking_uri": "http://127.0.0.1:9",
                                                    "flush_timeout": 10}, epochs=2)
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    assert "warning: MLflow" in result.stderr and "could not be sent" in result.stderr
    assert (workdir / "runs/track/model.weights.h5").is_file()


def test_neither_tracker_is_called_per_step_by_default():
    from trainer.engine.callbacks import CallbackList
    from trainer.engine.callbacks.mlflow_logger import MLflowLogger
    from trainer.engine.callbacks.tensorboard import TensorBoard
    from trainer.engine.config.schema import MLflowConfig
    callbacks = CallbackList([TensorBoard(), MLflowLogger(MLflowConfig(), {}, "hash", {})])
    assert not callbacks.has_batch_hooks("on_train_batch_begin")
    assert not callbacks.has_batch_hooks("on_train_batch_end")
    assert CallbackList([TensorBoard(update_freq=5)]).has_batch_hooks("on_train_batch_end")
