"""`trainer verify`: every checkpoint's checksum and loadability, and whether a run directory
is consistent (config, status, history, the checkpoint `fit` would resume from)."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .checkpoint import load_checkpoint
from .run_state import RunState
from .rundir import RunDir
from .store import DAMAGED_SUFFIX, CheckpointStore


@dataclass
class Report:
    good: list[str] = field(default_factory=list)      # one line per thing checked and fine
    problems: list[str] = field(default_factory=list)


def verify(path: Path) -> Report:
    path = Path(path)
    report = Report()
    if path.is_file():
        _check_checkpoint(path, report)
    elif (path / "config.yaml").is_file():
        _check_run_dir(RunDir(path), report)
    else:
        report.problems.append(f"{path}: neither a checkpoint file nor a run directory "
                               f"(no config.yaml)")
    return report


def _check_checkpoint(path: Path, report: Report) -> dict[str, Any] | None:
    try:
        state = load_checkpoint(path)
    except CheckpointError as exc:
        report.problems.append(str(exc))
        return None
    report.good.append(f"{path}: checksum and content good ({_position(state.get('loop'))})")
    return state


def _position(loop: dict[str, Any] | None) -> str:
    if loop is None:
        return "weights only"
    if loop["outcome"]:
        return f"finished: {loop['outcome']}"
    return f"epoch {loop['epoch'] + 1}, step {loop['step']}" if loop["step"] else \
        f"end of epoch {loop['epoch']}"


def _check_run_dir(run: RunDir, report: Report) -> None:
    status = _read_json(run.status_file, report, required=False)  # killed before it
    states = {p: _check_checkpoint(p, report) for p in sorted(run.checkpoints.glob("*.pt"))}
    for damaged in sorted(run.checkpoints.glob(f"*{DAMAGED_SUFFIX}")):
        report.good.append(f"{damaged}: set aside by an earlier fallback (safe to delete)")
    newest = CheckpointStore(run.checkpoints).newest_first()
    good = next((p for p in newest if states.get(p) is not None), None)
    trained = (status or {}).get("step")
    if good is None:
        if newest or trained:
            report.problems.append(f"{run.checkpoints}: no good checkpoint to resume from")
        return
    if good != newest[0]:
        report.problems.append(f"{newest[0]} is damaged: fit would fall back to {good}")
    loop = states[good]["loop"]
    report.good.append(f"fit would resume from {good}")
    state = (status or {}).get("state")
    finished = state in (RunState.COMPLETED.value, RunState.EARLY_STOPPED.value)
    if finished:
        if good == newest[0] and loop["outcome"] != state:
            report.problems.append(f"{run.status_file} says {state}, but {good} holds an "
                                   f"unfinished run")
        if not run.weights.is_file():
            report.problems.append(f"{run.weights}: missing for a {state} run")
    _check_history(run, loop["epochs_done"], finished, report)


def _check_history(run: RunDir, epochs: list[int], finished: bool, report: Report) -> None:
    """History files may each be one epoch ahead of the checkpoint (killed between the writes
    at an epoch end; the next fit rolls them back); never behind, no gaps, no repeats."""
    if not run.history_json.is_file():
        if epochs:
            report.problems.append(f"{run.history_json}: missing ({len(epochs)} epochs trained)")
        return
    history = _read_json(run.history_json, report)
    if history is None:
        return
    recorded = history.get("epoch", [])
    ahead = 0 if finished else 1
    if recorded[:len(epochs)] != epochs or len(recorded) > len(epochs) + ahead or \
            recorded != list(range(len(recorded))):
        report.problems.append(f"{run.history_json}: epochs {recorded} do not match the "
                               f"checkpoint's {epochs}")
    try:
        rows = len(list(csv.reader(run.history_csv.open(newline="")))) - 1
    except OSError as exc:
        report.problems.append(f"{run.history_csv}: cannot read ({exc.strerror or exc})")
        return
    if not len(epochs) <= rows <= len(epochs) + ahead:
        report.problems.append(f"{run.history_csv}: {rows} rows for the checkpoint's "
                               f"{len(epochs)} epochs")
    elif not report.problems:
        report.good.append(f"history: {len(recorded)} epochs, consistent with the checkpoint")


def _read_json(path: Path, report: Report, required: bool = True) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        if required:
            report.problems.append(f"{path}: missing")
    except (OSError, ValueError) as exc:
        report.problems.append(f"{path}: not readable JSON ({exc})")
    return None
