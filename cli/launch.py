"""`trainer fit --nproc-per-node N`: start the same fit under torchrun (N processes on this
machine) and give back trainer's own exit code, which torchrun would reduce to 0/1 (a locked
run dir was refused before: cli/main.py). Each worker reports its exit code in a file; stop
signals are forwarded to torchrun once; torchrun's own log lines and its traceback of a failed
worker are not shown (the worker already said what went wrong, in one line)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from trainer.engine.signals import DEFAULT_STOP_SIGNALS
from trainer.engine.state.run_state import RunState
from trainer.engine.state.rundir import RunDir

REPORT_DIR_ENV = "TRAINER_EXIT_REPORTS"
# torchrun's agent logs in glog style: "E1202 00:59:26.854000 15702 torch/distributed/...".
_AGENT_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ ")


def report_exit(code: int) -> None:
    """In a worker started by this launcher: record this rank's exit code."""
    folder = os.environ.get(REPORT_DIR_ENV)
    if folder:
        rank = os.environ.get("RANK", "0")
        Path(folder, f"rank-{rank}.json").write_text(json.dumps({"exit_code": code}))


def torchrun_fit(nproc: int, fit_args: list[str], run_dir: Path) -> int:
    run = RunDir(run_dir)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "trainer.cli", "fit", *fit_args]
    with tempfile.TemporaryDirectory(prefix="trainer-launch-") as reports:
        # Its own session: a terminal's Ctrl-C reaches torchrun once, through us.
        # OMP_NUM_THREADS=1 is torchrun's own default; set, it spares us its banner.
        env = {"OMP_NUM_THREADS": "1", **os.environ, REPORT_DIR_ENV: reports}
        proc = subprocess.Popen(command, env=env,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        for name in DEFAULT_STOP_SIGNALS:
            signal.signal(getattr(signal, name), lambda signum, frame: proc.send_signal(signum))
        held_back = _show_worker_stderr(proc.stderr)
        code = proc.wait()
        reported = Path(reports, "rank-0.json")
        if reported.is_file():
            return json.loads(reported.read_text())["exit_code"]
    if code == 0:
        return 0
    state = RunState.parse(run.read_status().get("state"))
    if state is not None and state.exit_code:
        return state.exit_code
    sys.stderr.writelines(held_back)  # no worker said why: torchrun's account is all there is
    return code


def _show_worker_stderr(stream) -> list[str]:
    """Pass the workers' lines through; hold back torchrun's agent log and tracebacks."""
    held_back: list[str] = []
    in_traceback = False
    for line in stream:
        in_traceback = in_traceback or line.startswith("Traceback (most recent call last)")
        if in_traceback or _AGENT_LINE.match(line):
            held_back.append(line)
        else:
            sys.stderr.write(line)
            sys.stderr.flush()
    return held_back
