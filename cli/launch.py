"""`trainer fit --nproc-per-node N`: start the same fit under torchrun (N processes on this
machine) and give back trainer's own exit code, which torchrun reduces to 0/1: the run's
status.json, written by rank 0, says how it ended (RunState carries the exit code)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trainer.engine.state.run_state import RunState
from trainer.engine.state.rundir import RunDir


def torchrun_fit(nproc: int, fit_args: list[str], run_dir: Path) -> int:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "trainer.cli.main", "fit", *fit_args]
    status_file = RunDir(run_dir).status_file
    before = status_file.stat().st_mtime_ns if status_file.exists() else None
    code = subprocess.call(command)
    if not status_file.exists() or status_file.stat().st_mtime_ns == before:
        return code  # the workers never got to write (bad config, lock): torchrun's code
    state = RunState.parse(RunDir(run_dir).read_status().get("state"))
    if state is None or state.exit_code is None:
        return code or 1
    return state.exit_code if state is not RunState.FAILED else (code or state.exit_code)
