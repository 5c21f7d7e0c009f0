"""What CI reads: `--log-format json` (and TRAINER_LOG_FORMAT) gives one JSON event per line
and nothing else on stdout for fit, evaluate and validate, errors included; `trainer runs
diff` puts two runs side by side."""
from __future__ import annotations

import copy
import csv
import json

import torch

import conftest
from conftest import sets
from support_callbacks import BASE as SMALL_CLASSIFIER, class_interrupt

def write_config(workdir):
    """events.yaml: the small classifier for 2 epochs with a verbose ModelCheckpoint, whose
    "Epoch 1: saved ..." line would be on stdout in human mode."""
    config = copy.deepcopy(SMALL_CLASSIFIER)
    config["name"] = "events"
    config["fit"].update(epochs=2, callbacks=[{"type": "ModelCheckpoint",
                                               "filepath": "ep{epoch}.pt", "verbose": 1}])
    return conftest.write_config(workdir, config, "events.yaml")


def events_of(stdout: str) -> list[dict]:
    """Every stdout line must be one JSON object (json.loads fails the test otherwise)."""
    events = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(e, dict) and {"event", "command", "time"} <= set(e) for e in events)
    return events


def history_rows(run_dir):
    return list(csv.DictReader((run_dir / "history.csv").open()))


def test_fit_json_log_has_started_epochs_checkpoints_completed_and_nothing_else(cli, workdir):
    result = cli("fit", write_config(workdir), "--log-format", "json")
    assert result.exit_code == 0, result.output
    events = events_of(result.stdout)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "completed"
    assert kinds.count("epoch") == 2 and "checkpoint" in kinds
    assert events[0]["resumed"] is False and events[0]["steps_per_epoch"] == 8
    rows = history_rows(workdir / "runs/events")
    epochs = [e for e in events if e["event"] == "epoch"]
    for event, row in zip(epochs, rows):
        assert event["epoch"] == int(row["epoch"])
        assert {k: repr(v) for k, v in event["logs"].items()} == \
            {k: v for k, v in row.items() if k != "epoch"}
    paths = [e["path"] for e in events if e["event"] == "checkpoint"]
    assert paths[:2] == ["runs/events/checkpoints/ep1.pt", "runs/events/checkpoints/last.pt"]
    assert "Epoch 1: saved runs/events/checkpoints/ep1.pt" in result.stderr
    assert events[-1]["state"] == "completed" and events[-1]["exit_code"] == 0
    assert events[-1]["logs"]["loss"] == float(rows[-1]["loss"])


def test_json_log_errors_interrupts_and_other_commands(cli, workdir, monkeypatch):
    config = write_config(workdir)
    typo = cli("fit", config, "--log-format", "json", *sets("fit.epochz=3"))
    assert typo.exit_code == 2
    [error] = events_of(typo.stdout)
    assert error["event"] == "error" and error["exit_code"] == 2
    assert error["key_path"] == "fit.epochz" and error["error"] == "ConfigError"
    assert "epochz" in typo.stderr  # the human line is still on stderr

    monkeypatch.setenv("TRAINER_LOG_FORMAT", "json")
    (workdir / "interrupt.py").write_text(class_interrupt)
    stop = sets("fit.callbacks=[interrupt.py:InterruptAfter]")
    monkeypatch.setenv("INTERRUPT_AFTER", "0")
    stopped = cli("fit", config, *stop)
    assert stopped.exit_code == 75
    last = events_of(stopped.stdout)[-1]
    assert last["event"] == "interrupted" and last["exit_code"] == 75
    monkeypatch.delenv("INTERRUPT_AFTER")
    resumed = events_of(cli("fit", config, *stop).stdout)
    assert resumed[0]["event"] == "started" and resumed[0]["resumed"] is True
    assert resumed[0]["epoch"] == 1 and resumed[-1]["event"] == "completed"

    valid = events_of(cli("validate", config).stdout)
    assert [e["event"] for e in valid] == ["started", "completed"] and valid[-1]["valid"]
    evaluated = cli("evaluate", "--ckpt", "runs/events/checkpoints/last.pt", "--split",
                    "validation")
    assert evaluated.exit_code == 0, evaluated.output
    done = events_of(evaluated.stdout)[-1]
    assert done["event"] == "completed" and set(done["metrics"]) == {
        "loss", "sparse_categorical_accuracy"}

    bad = cli("fit", config, "--log-format", "xml")
    assert bad.exit_code == 2 and "--log-format must be human or json" in bad.stderr


def test_runs_diff_shows_config_metrics_epochs_and_environment(cli, workdir):
    config = write_config(workdir)
    for batch_size in (32, 64):
        result = cli("fit", config, "--run-dir", f"runs/b{batch_size}", "-q",
                     *sets(f"fit.batch_size={batch_size}"))
        assert result.exit_code == 0, result.output
    diff = cli("runs", "diff", "runs/b32", "runs/b64", "--json")
    assert diff.exit_code == 0, diff.output
    data = json.loads(diff.stdout)
    assert data["config"] == {"fit.batch_size": [32, 64]}
    rows = {name: history_rows(workdir / f"runs/{name}") for name in ("b32", "b64")}
    metrics = {m["name"]: m for m in data["metrics"]}
    loss = metrics["val_loss"]
    finals = [float(rows[n][-1]["val_loss"]) for n in ("b32", "b64")]
    assert loss["final"] == finals and loss["final_delta"] == finals[1] - finals[0]
    assert loss["best"] == [min(float(r["val_loss"]) for r in rows[n]) for n in ("b32", "b64")]
    accuracy = metrics["sparse_categorical_accuracy"]
    assert accuracy["higher_is_better"] and not loss["higher_is_better"]
    assert accuracy["best"] == [max(float(r["sparse_categorical_accuracy"]) for r in rows[n])
                                for n in ("b32", "b64")]
    assert [r["epochs"] for r in data["runs"]] == [2, 2]
    assert data["environment"]["torch"] == [torch.__version__] * 2
    assert data["environment"]["device"] == ["cpu", "cpu"]

    table = cli("runs", "diff", "runs/b32", "runs/b64")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert any(line.split()[:3] == ["fit.batch_size", "32", "64"] for line in lines)
    assert any(line.split()[:2] == ["val_loss", "final"] for line in lines)
    assert cli("runs").exit_code == 0  # the listing still works beside diff

    missing = cli("runs", "diff", "runs/b32", "runs/nope")
    assert missing.exit_code == 2 and "runs/nope is not a run directory" in missing.stderr
