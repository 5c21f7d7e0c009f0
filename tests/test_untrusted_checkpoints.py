"""A checkpoint's stored config is data: evaluate, predict and summary never import or call
what it names unless the user vouches (--trust-checkpoint-code, or their own --config), and
every imported component is checked to be of its kind before anything calls it."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import CONFIGS, sets
from trainer.cli.main import app
from trainer.engine.state.checkpoint import save_checkpoint  # sealed: a stranger can re-seal a file they edit

EVIL_LOSS = {"type": "subprocess:run", "args": [["touch", "owned.txt"]]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny huber_regression run (its loss and metric live in components/huber.py)."""
    root = tmp_path_factory.mktemp("trained")
    run_dir = root / "run"
    result = CliRunner().invoke(app, ["fit", str(CONFIGS / "huber_regression.yaml"), "--run-dir",
                                      str(run_dir), "-q",
                                      *sets("fit.epochs=1", "data.train.samples=200")])
    assert result.exit_code == 0, result.output
    return run_dir / "checkpoints" / "last.pt"


def _tampered(trained, workdir, **config_changes) -> str:
    state = torch.load(trained, weights_only=True)
    for dotted, value in config_changes.items():
        section, key = dotted.split("__")
        state["config"][section][key] = value
    save_checkpoint(workdir / "evil.pt", state)
    return "evil.pt"


@pytest.mark.parametrize("loss", [EVIL_LOSS, ["subprocess:run"], "os:system"])
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_tampered_checkpoint_is_refused_and_runs_nothing(cli, workdir, trained, loss, command):
    ckpt = _tampered(trained, workdir, compile__loss=loss)
    np.save(workdir / "x.npy", np.zeros((4, 8), dtype=np.float32))
    extra = ["--input", "x.npy", "--output", "p.npy"] if command == "predict" else []
    result = cli(command, "--ckpt", ckpt, *extra)
    assert result.exit_code == 2, result.output
    assert not (workdir / "owned.txt").exists()
    assert not (workdir / "p.npy").exists()
    if not isinstance(loss, list):  # the list form is refused by the schema before any lookup
        assert "compile.loss" in result.stderr and "would import code" in result.stderr
        assert "--config" in result.stderr and "--trust-checkpoint-code" in result.stderr
    assert "Traceback" not in result.output


def test_a_file_py_named_by_a_checkpoint_is_never_executed(cli, workdir, trained):
    (workdir / "payload.py").write_text("open('owned.txt', 'w').close()\nclass L: pass\n")
    ckpt = _tampered(trained, workdir, compile__loss={"type": "payload.py:L"})
    for command in (["evaluate", "--ckpt", ckpt], ["summary", "--ckpt", ckpt]):
        cli(*command)
    state = torch.load(trained, weights_only=True)
    state["config"]["model"]["layers"][0]["type"] = "payload.py:L"
    save_checkpoint(workdir / "evil_layer.pt", state)
    result = cli("summary", "--ckpt", "evil_layer.pt")
    assert result.exit_code == 2 and "model.layers[0].type" in result.stderr, result.output
    assert not (workdir / "owned.txt").exists()


def test_trusting_still_checks_the_kind_before_calling(cli, workdir, trained):
    ckpt = _tampered(trained, workdir, compile__loss=EVIL_LOSS)
    result = cli("evaluate", "--ckpt", ckpt, "--trust-checkpoint-code")
    assert result.exit_code == 2
    assert "'subprocess:run' is not a loss: expected a subclass of Loss or torch.nn.Module, or " \
           "a function of its inputs, found the function subprocess.run" in result.stderr
    assert not (workdir / "owned.txt").exists()


def test_a_users_own_config_is_checked_for_kind_too(cli, workdir):
    config = (CONFIGS / "linear_regression.yaml").read_text()
    (workdir / "c.yaml").write_text(config)
    result = cli("validate", "c.yaml", "--set",
                 "compile.optimizer={type: subprocess:Popen, args: [[touch, owned.txt]]}")
    assert result.exit_code == 2
    assert "'subprocess:Popen' is not an optimizer: expected a subclass of " \
           "torch.optim.Optimizer, found the class subprocess.Popen" in result.stderr
    assert not (workdir / "owned.txt").exists()


def test_a_legitimate_file_py_loss_evaluates_with_the_opt_in_or_the_users_config(
        cli, workdir, trained):
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(trained, elsewhere / "shared.pt")
    refused = cli("evaluate", "--ckpt", elsewhere / "shared.pt", "--split", "validation")
    assert refused.exit_code == 2 and "components/huber.py:HuberLoss" in refused.stderr

    trusted = cli("evaluate", "--ckpt", elsewhere / "shared.pt", "--split", "validation",
                  "--json", "--trust-checkpoint-code")
    assert trusted.exit_code == 0, trusted.output
    history = json.loads((trained.parent.parent / "history.json").read_text())["history"]
    assert json.loads(trusted.stdout)["huber_metric"] == history["val_huber_metric"][-1]

    own = cli("evaluate", "--ckpt", elsewhere / "shared.pt", "--split", "validation", "--json",
              "--config", CONFIGS / "huber_regression.yaml")
    assert own.exit_code == 0, own.output


def test_files_that_are_not_checkpoints_get_trainers_own_one_line_message(cli, workdir, trained):
    (workdir / "empty.pt").write_bytes(b"")
    (workdir / "last.pt").write_bytes(bytes(range(256)) * 20)
    (workdir / "cut.pt").write_bytes(trained.read_bytes()[:2000])
    np.save(workdir / "x.npy", np.zeros((4, 8), dtype=np.float32))
    import h5py
    with h5py.File(workdir / "model.weights.h5", "w") as handle:
        handle["w"] = np.zeros(3)
    # Files that are no checkpoint at all, and checkpoints damaged on the way (the seal).
    expected = {"last.pt": "not a trainer checkpoint: expected a file written by trainer (a torch "
                           "zip archive), found 5,120 bytes of something else",
                "model.weights.h5": "not a trainer checkpoint: expected a file written by trainer "
                                    "(a torch zip archive), found an HDF5 file",
                "empty.pt": "damaged checkpoint: the file is empty",
                "cut.pt": "damaged checkpoint: the file is truncated or incomplete"}
    for name, message in expected.items():
        for command in (["evaluate", "--ckpt", name],
                        ["predict", "--ckpt", name, "--input", "x.npy", "--output", "p.npy"],
                        ["summary", "--ckpt", name]):
            result = cli(*command)
            assert result.exit_code == 2, result.output
            assert result.stderr.startswith(f"error: {name}: {message}") \
                and result.stderr.count("\n") == 1, result.stderr
            assert "weights_only" not in result.stderr
    assert not (workdir / "p.npy").exists()


def test_a_checkpoint_of_another_model_names_the_weight_and_both_shapes(cli, workdir, trained):
    state = torch.load(trained, weights_only=True)
    state["models"]["model"] = {k: v[:1] for k, v in state["models"]["model"].items()}
    save_checkpoint(workdir / "other.pt", state)
    result = cli("evaluate", "--ckpt", "other.pt", "--trust-checkpoint-code")
    assert result.exit_code == 2
    assert result.stderr == ("error: other.pt: the weights do not fit the model 'model': "
                             "'layers.hidden.kernel' is [1, 8] in the checkpoint, [30, 8] in the "
                             "model\n")


def test_a_checkpoint_config_that_is_an_alias_bomb_or_a_cycle_is_refused_at_once(
        cli, workdir, trained):
    state = torch.load(trained, weights_only=True)
    bomb: list = ["x"] * 9
    for _ in range(9):
        bomb = [bomb] * 9  # shared references: 9**10 leaves once expanded
    state["config"]["recipe_args"] = {"bomb": bomb}
    save_checkpoint(workdir / "bomb.pt", state)
    cycle: list = []
    cycle.append(cycle)
    state["config"]["recipe_args"] = {"cycle": cycle}
    save_checkpoint(workdir / "cycle.pt", state)
    for name, limit in (("bomb.pt", "TRAINER_CONFIG_MAX_NODES"), ("cycle.pt", "reference cycle")):
        result = cli("evaluate", "--ckpt", name)
        assert result.exit_code == 2 and limit in result.stderr, result.output


def test_an_empty_npz_given_as_evaluation_data_is_a_data_error(cli, workdir, trained):
    (workdir / "holdout.npz").write_bytes(b"")
    result = cli("evaluate", "--ckpt", trained, "--data", "holdout.npz", "--trust-checkpoint-code")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "holdout.npz: not a readable .npz file (No data left in file)" in result.stderr
