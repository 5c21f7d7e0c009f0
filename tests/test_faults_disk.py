"""A run directory that cannot be written, and a disk that fills up mid-run: one clear
message, exit 2, the previous checkpoint intact, and the next invocation continues."""
from __future__ import annotations

import errno
import os

import torch

from conftest import read_json
from support_callbacks import write_config


def test_run_dir_that_cannot_be_created_exit_2_nothing_written(cli, workdir):
    config = write_config(workdir, [])
    (workdir / "not-a-folder").write_text("")
    result = cli("fit", config, "--run-dir", "not-a-folder/run")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot create run directory not-a-folder/run")
    assert "Traceback" not in result.output
    assert not (workdir / "runs").exists()


def test_full_disk_mid_run_keeps_the_last_checkpoint_and_resumes(cli, workdir, monkeypatch):
    config = write_config(workdir, [], epochs=3, checkpoint_every=3)
    last = workdir / "runs/cb/checkpoints/last.pt"
    real_replace = os.replace
    writes = []

    def disk_full_after_epoch_1(src, dst):
        if os.path.abspath(dst) == str(last):
            state = torch.load(src, weights_only=True)["loop"]
            writes.append((state["epoch"], state["step"]))
            if state["epoch"] >= 1 and state["step"] > 0:  # the first batch checkpoint in epoch 2
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full_after_epoch_1)
    result = cli("fit", config)
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.stderr
    assert "the previous version is intact" in result.stderr
    assert "Traceback" not in result.output
    assert writes[-2:] == [(1, 0), (1, 1)]  # global batch 9 = the 2nd epoch's first
    # The previous checkpoint (end of epoch 1) is intact, and no temporary file is left.
    assert torch.load(last, weights_only=True)["loop"]["epoch"] == 1
    assert not list(last.parent.glob(".*.tmp"))
    assert read_json(workdir / "runs/cb/status.json")["state"] == "failed"

    monkeypatch.setattr(os, "replace", real_replace)  # space freed: the same command continues
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    assert read_json(workdir / "runs/cb/history.json")["epoch"] == [0, 1, 2]
