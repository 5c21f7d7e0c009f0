"""Cron-grade behaviour through real processes: stop signals at any moment of start-up end in
exit 75 with one line saying what state the run is in; the README's cron loop with `timeout
--preserve-status` ends equal to one uninterrupted run; relative paths resolve next to the
config wherever trainer runs from; quick answers import no torch; epoch seconds add up over
invocations; a wheel installs and trains from an unrelated directory."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import HANG_TIMEOUT, REPO, TRAINER, read_json, sets, write_config

CONFIG = {
    "name": "cron", "seed": 2, "device": "cpu", "deterministic": True,
    "data": {"train": {"source": "npz", "path": "data/train.npz", "x": "x", "y": "y"}},
    "model": {"inputs": {"x": [8]}, "layers": [{"type": "Dense", "units": 16, "activation": "relu"},
                                              {"type": "Dense", "units": 3, "activation": "softmax"}]},
    "compile": {"optimizer": {"type": "Adam", "learning_rate": 0.01},
                "loss": "sparse_categorical_crossentropy", "metrics": ["sparse_categorical_accuracy"]},
    "fit": {"batch_size": 16, "epochs": 4, "validation_split": 0.2, "checkpoint_every": 5},
}


def project(folder: Path, **fit) -> Path:
    """A config with its data file beside it, in `folder`/project/."""
    root = folder / "project"
    (root / "data").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    np.savez(root / "data/train.npz", x=x, y=(x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1))
    config = json.loads(json.dumps(CONFIG))
    config["fit"].update(fit)
    return write_config(root, config, "cron.yaml")


def spawn(args, cwd: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*TRAINER, *map(str, args)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, **kwargs)


def catches(pid: int, sig: int) -> bool:
    """Whether process `pid` has a handler installed for `sig` (/proc's SigCgt mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = int(next(l for l in status.splitlines() if l.startswith("SigCgt:")).split()[1], 16)
    return bool(mask >> (sig - 1) & 1)


def wait_until(condition, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + HANG_TIMEOUT
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=HANG_TIMEOUT)
    return proc.returncode, err


def weights(run: Path) -> dict:
    return torch.load(run / "checkpoints/last.pt", weights_only=True)["models"]["model"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("reference")
    config = project(folder)
    result = subprocess.run([*TRAINER, "fit", config, "--quiet"], cwd=folder, text=True,
                            capture_output=True, timeout=HANG_TIMEOUT)
    assert result.returncode == 0, result.stderr
    run = folder / "runs/cron"
    return {"weights": weights(run), "history": read_json(run / "history.json")["history"]}


def same_as_reference(run: Path, reference: dict) -> None:
    got = weights(run)
    assert all(torch.equal(got[k], v) for k, v in reference["weights"].items())
    history = read_json(run / "history.json")["history"]
    assert {k: v for k, v in history.items() if k != "seconds"} == \
        {k: v for k, v in reference["history"].items() if k != "seconds"}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGUSR1])
def test_a_stop_signal_during_imports_is_exit_75_and_nothing_written(tmp_path, sig):
    config = project(tmp_path)
    proc = spawn(["fit", config], tmp_path)
    # trainer's first act catches all three (Python's own SIGINT handler is there earlier).
    wait_until(lambda: catches(proc.pid, signal.SIGTERM), proc)
    proc.send_signal(sig)
    code, err = finish(proc)
    assert code == 75, err
    assert err.strip().splitlines() == [
        f"interrupted: {signal.Signals(sig).name} before training started: nothing written; "
        f"run the same command again to continue"]
    assert not (tmp_path / "runs").exists()


def test_signals_at_seeded_moments_of_start_up_then_resume_equal(tmp_path, reference):
    """During data load (the data file open), during model build (a user layer's import) and
    during the first validation (a callback): each ends in 75 with a one-line state, and the
    run then completes equal to an uninterrupted one."""
    config = project(tmp_path)
    root = config.parent
    (root / "signal_self.py").write_text(
        "import os, signal\n"
        "from torch import nn\n"
        "from trainer.engine.callbacks import Callback\n"
        "class Identity(nn.Identity):\n"
        "    pass\n"
        "if os.environ.get('SIGNAL_AT') == 'model':\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "class AtValidation(Callback):\n"
        "    def on_test_begin(self, logs=None):\n"
        "        if os.environ.get('SIGNAL_AT') == 'validation':\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n")
    layered = json.loads(json.dumps(CONFIG))
    layered["model"]["layers"].insert(0, {"type": "signal_self.py:Identity"})
    layered["fit"]["callbacks"] = ["signal_self.py:AtValidation"]
    # The extra layer has no weights and the callback does nothing: same run as the reference.
    config = write_config(root, layered, "cron.yaml")
    run = tmp_path / "runs/cron"
    # During data load: an audit hook (test-only sitecustomize) signals when the file opens.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "def on_open(event, args):\n"
        "    if event == 'open' and args and str(args[0]) == os.environ['SIGNAL_ON_OPEN']:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "sys.addaudithook(on_open)\n")
    result = subprocess.run([*TRAINER, "fit", str(config)], cwd=tmp_path, text=True,
                            capture_output=True, timeout=HANG_TIMEOUT,
                            env={**os.environ, "PYTHONPATH": str(hooks),
                                 "SIGNAL_ON_OPEN": str(root / "data/train.npz")})
    assert result.returncode == 75, result.stderr
    assert "before training started: nothing written" in result.stderr, result.stderr
    assert not run.exists()

    for moment, expected in (("model", "before training started: nothing written"),
                             ("validation", "checkpoint written at the end of epoch 1")):
        result = subprocess.run([*TRAINER, "fit", str(config)], cwd=tmp_path, text=True,
                                capture_output=True, timeout=HANG_TIMEOUT,
                                env={**os.environ, "OMP_NUM_THREADS": "1", "SIGNAL_AT": moment})
        code, err = result.returncode, result.stderr
        assert code == 75, (moment, err)
        assert expected in err, (moment, err)
        assert len(err.strip().splitlines()) == 1, err
    assert read_json(run / "status.json")["state"] == "interrupted"

    result = subprocess.run([*TRAINER, "fit", str(config), "--quiet"], cwd=tmp_path, text=True,
                            capture_output=True, timeout=HANG_TIMEOUT)
    assert result.returncode == 0, result.stderr
    same_as_reference(run, reference)


def test_the_readme_cron_loop_with_timeout_ends_equal_to_one_run(tmp_path, reference):
    """`timeout --preserve-status -s TERM T trainer fit ...` until it exits 0: each call makes
    progress or exits 75 cleanly. T grows each call so that a busy machine still gets there."""
    config = project(tmp_path, epochs=4)
    loop = (f"t=2; n=0; while :; do n=$((n+1)); timeout --preserve-status -s TERM $t "
            f"{' '.join(TRAINER)} fit {config} --quiet; rc=$?; [ $rc -eq 75 ] || break; "
            f"t=$((t*2)); done; echo \"calls=$n rc=$rc\"")
    result = subprocess.run(["bash", "-c", loop], cwd=tmp_path, text=True, capture_output=True,
                            timeout=HANG_TIMEOUT)
    calls, rc = (part.split("=")[1] for part in result.stdout.split()[-2:])
    assert rc == "0", (calls, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    # timeout signals the command and then its process group: one request, not two.
    assert "stopped at once" not in result.stderr and "second SIG" not in result.stderr
    same_as_reference(tmp_path / "runs/cron", reference)


def test_relative_data_paths_resolve_next_to_the_config_from_any_directory(tmp_path):
    config = project(tmp_path, epochs=1)
    for command in (["validate", config], ["fit", config, "--quiet", "--run-dir", tmp_path / "r"]):
        result = subprocess.run([*TRAINER, *map(str, command)], cwd="/", text=True,
                                capture_output=True, timeout=HANG_TIMEOUT)
        assert result.returncode == 0, result.stderr
    broken = json.loads(json.dumps(CONFIG))
    broken["data"]["train"]["path"] = "data/missing.npz"
    path = write_config(config.parent, broken, "broken.yaml")
    result = subprocess.run([*TRAINER, "validate", str(path)], cwd="/", text=True,
                            capture_output=True, timeout=HANG_TIMEOUT)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith("error: data.train.path (") and "broken.yaml:" in line, line
    assert str(config.parent / "data/missing.npz") in line and "/data/missing.npz" in line


def test_quick_answers_import_no_torch(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfit: {epochs: 2\n")
    unknown = write_config(tmp_path, {**CONFIG, "fitt": {}}, "unknown.yaml")
    for args, code in ((["--help"], 0), (["--version"], 0), (["fit", "--help"], 0),
                       (["validate", bad], 2), (["fit", unknown], 2)):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "trainer.cli",
                                 *map(str, args)], cwd=tmp_path, text=True, capture_output=True,
                                timeout=HANG_TIMEOUT)
        assert result.returncode == code, (args, result.stderr[-500:])
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                    if line.startswith("import time:")}
        assert "torch" not in imported, args
    version = subprocess.run([*TRAINER, "--version"], text=True, capture_output=True,
                             timeout=HANG_TIMEOUT).stdout.splitlines()
    assert version[0].startswith("trainer 0.") and version[1] == f"torch {torch.__version__.split('+')[0]}" \
        or version[1].startswith("torch ")
    assert version[2].startswith("devices: cpu")


def test_a_locked_run_dir_is_exit_4_before_data_and_model(tmp_path):
    """The data file is missing: a lock check after the data load would say exit 2."""
    config = project(tmp_path)
    (config.parent / "data/train.npz").unlink()
    holder = subprocess.Popen(["sleep", "600"])
    try:
        (tmp_path / "runs/cron").mkdir(parents=True)
        (tmp_path / "runs/cron/.lock").write_text(
            json.dumps({"pid": holder.pid, "host": os.uname().nodename}))
        for extra in ([], ["--nproc-per-node", "2"]):
            result = subprocess.run([*TRAINER, "fit", str(config), *extra], cwd=tmp_path,
                                    text=True, capture_output=True, timeout=HANG_TIMEOUT)
            assert result.returncode == 4, (extra, result.stderr)
            assert result.stderr.strip().splitlines() == [
                f"error: runs/cron is locked by trainer process {holder.pid} on "
                f"{os.uname().nodename}"], result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_the_launcher_passes_trainer_exit_codes_through(tmp_path):
    config = project(tmp_path, epochs=2)
    (config.parent / "data/train.npz").rename(config.parent / "data/elsewhere.npz")
    result = subprocess.run([*TRAINER, "fit", str(config), "--nproc-per-node", "2"], cwd=tmp_path,
                            text=True, capture_output=True, timeout=HANG_TIMEOUT)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: data.train.path"), result.stderr

    (config.parent / "data/elsewhere.npz").rename(config.parent / "data/train.npz")
    proc = spawn(["fit", config, "--nproc-per-node", "2"], tmp_path)
    events = tmp_path / "runs/cron/events.jsonl"
    wait_until(lambda: events.is_file() and "epoch" in events.read_text(), proc)
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 75, err
    assert "Traceback" not in err and "ChildFailedError" not in err, err
    assert err.count("interrupted: ") == 1, err


def test_epoch_seconds_add_up_over_invocations(tmp_path):
    config = project(tmp_path, epochs=1, checkpoint_every=4)
    root = config.parent
    (root / "stop.py").write_text(
        "import os, signal, time\n"
        "from trainer.engine.callbacks import Callback\n"
        "class SlowThenStop(Callback):\n"
        "    def on_train_batch_end(self, batch, logs=None):\n"
        "        if not self.loop.progress.resumed:\n"
        "            time.sleep(0.05)\n"
        "            if self.loop.progress.global_step == 12:\n"
        "                os.kill(os.getpid(), signal.SIGTERM)\n")
    stopped = json.loads(json.dumps(CONFIG))
    stopped["fit"].update(epochs=1, callbacks=["stop.py:SlowThenStop"])
    config = write_config(root, stopped, "cron.yaml")
    run = tmp_path / "runs/cron"
    first = subprocess.run([*TRAINER, "fit", str(config)], cwd=tmp_path, text=True,
                           capture_output=True, timeout=HANG_TIMEOUT)
    assert first.returncode == 75, first.stderr
    before = torch.load(run / "checkpoints/last.pt", weights_only=True)["loop"]["epoch_seconds"]
    assert before >= 12 * 0.05
    second = subprocess.run([*TRAINER, "fit", str(config)], cwd=tmp_path, text=True,
                            capture_output=True, timeout=HANG_TIMEOUT)
    assert second.returncode == 0, second.stderr
    seconds = read_json(run / "history.json")["history"]["seconds"][0]
    assert seconds >= before  # the interrupted part counts


def test_a_wheel_installs_into_a_fresh_venv_and_trains_from_elsewhere(tmp_path):
    """The package list is found, not hand-written: a wheel holds every module and the shipped
    data (MNIST, templates). Dependencies come from this environment (no network)."""
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(dist), str(REPO)], check=True, timeout=HANG_TIMEOUT,
                   capture_output=True)
    wheel = next(dist.glob("trainer-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=HANG_TIMEOUT)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(
        "\n".join(p for p in sys.path if p.endswith("site-packages")) + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                   check=True, timeout=HANG_TIMEOUT, capture_output=True)
    where = subprocess.run([python, "-c", "import trainer.engine; print(trainer.engine.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where
    trainer = venv / "bin" / "trainer"
    init = subprocess.run([trainer, "init", "--template", "mnist_cnn"], cwd=elsewhere,
                          capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert init.returncode == 0, init.stderr
    fit = subprocess.run([trainer, "fit", str(REPO / "configs/mnist.yaml"), "--quiet",
                          *sets("data.train.limit=600", "data.test.limit=100", "fit.epochs=1")],
                         cwd=elsewhere, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert fit.returncode == 0, fit.stderr
    assert (elsewhere / "runs/mnist_mlp/curves.png").is_file()
