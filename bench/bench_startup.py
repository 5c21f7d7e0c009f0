"""How fast `trainer` answers before any training: `--help`, `--version`, a shell-completion
request, a YAML syntax error, an unknown key, and a locked run dir (exit 4 before data and model
are built). Each command runs as its own process; the median and the spread of the wall time
over the runs are printed.

Run: .venv/bin/python bench/bench_startup.py [--runs 5]"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAINER = str(Path(sys.executable).with_name("trainer"))


def cases(folder: Path) -> dict[str, tuple[list[str], dict[str, str], int]]:
    (folder / "syntax.yaml").write_text("name: x\nfit: {epochs: 2\n")
    (folder / "unknown.yaml").write_text((REPO / "configs/mnist.yaml").read_text()
                                         .replace("epochs: 2", "epoch: 2"))
    locked = folder / "runs/mnist_mlp"
    locked.mkdir(parents=True, exist_ok=True)
    (locked / ".lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    complete = {"_TRAINER_COMPLETE": "complete_bash", "COMP_WORDS": "trainer fi", "COMP_CWORD": "1"}
    return {
        "trainer --help": ([TRAINER, "--help"], {}, 0),
        "trainer --version": ([TRAINER, "--version"], {}, 0),
        "completion (TAB after 'trainer fi')": ([TRAINER], complete, 0),
        "validate: YAML syntax error": ([TRAINER, "validate", "syntax.yaml"], {}, 2),
        "fit: unknown key": ([TRAINER, "fit", "unknown.yaml"], {}, 2),
        "fit: locked run dir": ([TRAINER, "fit", str(REPO / "configs/mnist.yaml")], {}, 4),
    }


def measure(command: list[str], env: dict[str, str], expected: int, cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True)
    seconds = time.perf_counter() - start
    if result.returncode != expected:
        raise SystemExit(f"{command}: exit {result.returncode}, expected {expected}\n"
                         f"{result.stderr.decode()[-400:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'command':40} {'median s':>9} {'min s':>7} {'max s':>7}")
        for name, (command, env, expected) in cases(folder).items():
            measure(command, env, expected, folder)  # warm-up: file caches
            times = [measure(command, env, expected, folder) for _ in range(runs)]
            print(f"{name:40} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}")


if __name__ == "__main__":
    main()
