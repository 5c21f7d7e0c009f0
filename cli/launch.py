"""`trainer fit --nproc-per-node N`: start the same fit under torchrun (N processes on this
machine) and give back trainer's own exit code, which torchrun reduces to 0/1: the run's
status.json, written by rank 0, says how it ended."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXIT_BY_STATE = {"completed": 0, "early_stopped": 0, "interrupted": 75, "diverged": 3}


def torchrun_fit(nproc: int, fit_args: list[str], run_dir: Path) -> int:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "trainer.cli.main", "fit", *fit_args]
    status_file = run_dir / "status.json"
    before = status_file.stat().st_mtime_ns if status_file.exists() else None
    code = subprocess.call(command)
    if not status_file.exists() or status_file.stat().st_mtime_ns == before:
        return code  # the workers never got to write (bad config, lock): torchrun's code
    state = json.loads(status_file.read_text()).get("state")
    return EXIT_BY_STATE.get(state, code or 1)
