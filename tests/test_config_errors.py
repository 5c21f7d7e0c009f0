"""Bad input: one clear message naming what and where, exit 2, and no run directory."""
from __future__ import annotations

import pytest

from conftest import CONFIGS, sets

MNIST = CONFIGS / "mnist.yaml"


def fails_cleanly(result, workdir, *expected: str) -> str:
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith("error: ") and "Traceback" not in result.output
    for text in expected:
        assert text in message, message
    assert not (workdir / "runs").exists()
    return message


def test_missing_config_file(cli, workdir):
    fails_cleanly(cli("fit", "nope.yaml"), workdir, "config file not found: nope.yaml")


def test_yaml_syntax_error_names_file_and_line(cli, workdir):
    (workdir / "bad.yaml").write_text("name: x\nfit:\n  epochs: [1, 2\n  batch_size: 3\n")
    fails_cleanly(cli("fit", "bad.yaml"), workdir, "bad.yaml:", "YAML syntax error")


def test_unknown_key_suggests_the_closest(cli, workdir):
    text = MNIST.read_text().replace("batch_size: 64", "batchsize: 64")
    (workdir / "typo.yaml").write_text(text)
    line = text.splitlines().index("  batchsize: 64") + 1
    fails_cleanly(cli("fit", "typo.yaml"), workdir, f"fit.batchsize (typo.yaml:{line})",
                  "unknown key 'batchsize'", "did you mean 'batch_size'")


def test_wrong_type_names_key_and_value(cli, workdir):
    fails_cleanly(cli("fit", MNIST, *sets("fit.epochs=two")), workdir,
                  "fit.epochs (--set fit.epochs=two)", "valid integer", '"two"')


def test_unknown_loss_suggests(cli, workdir):
    fails_cleanly(cli("fit", MNIST, *sets("compile.loss=sparse_categorical_crosentropy")), workdir,
                  "compile.loss", "unknown loss 'sparse_categorical_crosentropy'",
                  "did you mean 'sparse_categorical_crossentropy'")


def test_wrong_set_path(cli, workdir):
    fails_cleanly(cli("fit", MNIST, *sets("fitt.epochs=3")), workdir,
                  "fitt", "unknown key 'fitt'", "did you mean 'fit'")
    fails_cleanly(cli("fit", MNIST, *sets("fit.callbacks[3].patience=1")), workdir,
                  "fit.callbacks[3]", "no list item 3")


def test_set_without_equals(cli, workdir):
    fails_cleanly(cli("fit", MNIST, "--set", "fit.epochs"), workdir, "--set expects KEY=VALUE")


def test_unknown_layer_argument_names_the_layer_path(cli, workdir):
    fails_cleanly(cli("fit", MNIST, *sets("model.layers[0].unitz=3")), workdir,
                  "model.layers[0].unitz", "unknown argument 'unitz'", "did you mean 'units'")


def test_env_interpolation(cli, workdir, monkeypatch):
    text = MNIST.read_text().replace("epochs: 2", "epochs: ${EPOCHS}")
    (workdir / "env.yaml").write_text(text)
    fails_cleanly(cli("validate", "env.yaml"), workdir, "fit.epochs", "environment variable 'EPOCHS'")
    monkeypatch.setenv("EPOCHS", "3")
    result = cli("validate", "env.yaml", *sets("data.train.limit=500"))
    assert result.exit_code == 0, result.output


def test_env_default(workdir, monkeypatch):
    from trainer.engine.config.experiment import loads_experiment
    monkeypatch.delenv("RUN_NAME", raising=False)
    text = "name: ${RUN_NAME:-fallback}\ndata: {train: {source: mnist, split: train}}\n"
    assert loads_experiment(text).config.name == "fallback"
    monkeypatch.setenv("RUN_NAME", "from_env")
    assert loads_experiment(text).config.name == "from_env"


def test_corrupted_mnist_file_is_exit_2_naming_the_file(cli, workdir, monkeypatch, tmp_path):
    import shutil
    from trainer.engine.data.sources import mnist
    corrupt = tmp_path / "mnist"
    shutil.copytree(mnist.MNIST_DIR, corrupt)
    data = bytearray((corrupt / "t10k-labels-idx1-ubyte.gz").read_bytes())
    data[-9] ^= 0xFF
    (corrupt / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(data))
    monkeypatch.setattr(mnist, "MNIST_DIR", corrupt)
    monkeypatch.setattr(mnist.load_mnist, "__defaults__", (corrupt,))
    fails_cleanly(cli("fit", MNIST), workdir, "t10k-labels-idx1-ubyte.gz", "corrupted")
    (corrupt / "train-images-idx3-ubyte.gz").unlink()
    fails_cleanly(cli("fit", MNIST), workdir, "train-images-idx3-ubyte.gz", "missing")


@pytest.mark.parametrize("args, expected", [
    (["evaluate", "--ckpt", "missing.pt"], "missing.pt: checkpoint file not found"),
    (["predict", "--ckpt", "missing.pt", "--input", "x.npy", "--output", "p.npy"], "missing.pt"),
    (["summary", "--ckpt", "missing.pt"], "missing.pt"),
])
def test_missing_checkpoint(cli, workdir, args, expected):
    fails_cleanly(cli(*args), workdir, expected)


def test_garbage_checkpoint(cli, workdir):
    (workdir / "junk.pt").write_bytes(b"not a checkpoint")
    fails_cleanly(cli("evaluate", "--ckpt", "junk.pt"), workdir, "junk.pt", "not a trainer checkpoint", "found 16 bytes of something else")


def test_bad_config_in_an_existing_run_dir_is_reported_as_bad_not_as_changed(cli, workdir):
    run_dir = workdir / "run"
    tiny = ["data.train.limit=600", "data.test.limit=100", "fit.epochs=1"]
    assert cli("fit", MNIST, "--run-dir", run_dir, *sets(*tiny)).exit_code == 0
    result = cli("fit", MNIST, "--run-dir", run_dir,
                 *sets(*tiny, "compile.loss=sparse_categorical_crosentropy"))
    assert result.exit_code == 2
    assert "unknown loss 'sparse_categorical_crosentropy'" in result.stderr
    assert "(--set compile.loss=sparse_categorical_crosentropy)" in result.stderr
    assert "differs" not in result.stderr


def test_a_default_added_later_is_not_a_config_change(cli, workdir):
    """A run dir written before a schema key existed still resumes/no-ops after an upgrade."""
    import yaml
    run_dir = workdir / "run"
    tiny = ["data.train.limit=600", "data.test.limit=100", "fit.epochs=1"]
    assert cli("fit", MNIST, "--run-dir", run_dir, *sets(*tiny)).exit_code == 0
    stored = yaml.safe_load((run_dir / "config.yaml").read_text())
    del stored["channels_last"]  # as written by a trainer without that key
    (run_dir / "config.yaml").write_text(yaml.safe_dump(stored))
    result = cli("fit", MNIST, "--run-dir", run_dir, *sets(*tiny))
    assert result.exit_code == 0, result.output
    assert "already completed" in result.stdout
