"""RunRecord: the one writer of a run's record (config.yaml, status.json, events.jsonl,
history.csv/json, metrics.json, model.weights.h5, train.log). The fit session and the loop hold
it by name; ranks other than 0 under torchrun hold a WorkerRecord, which writes nothing."""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from typing import Any, Callable

import yaml

from ..errors import RunDirError
from .atomic import atomic_write_json, atomic_write_text
from .run_state import RunState
from .rundir import RunDir
from .weights import save_weights_h5


class RunRecord:
    writes = True

    def __init__(self, run_dir: RunDir, history_separator: str = ",",
                 console: Callable[[str], None] | None = None):
        self.dir = run_dir
        self.separator = history_separator
        self.console = console
        self.log = logging.getLogger(f"trainer.run.{run_dir.path.resolve()}")
        self.log.propagate = False
        self.log.setLevel(logging.INFO)

    def create(self) -> None:
        try:
            self.dir.checkpoints.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot create run directory {self.dir.path}: "
                              f"{exc.strerror or exc}") from exc
        if not os.access(self.dir.path, os.W_OK):
            raise RunDirError(f"run directory {self.dir.path} is not writable")

    def open_log(self) -> None:
        if not self.log.handlers:
            handler = logging.FileHandler(self.dir.log_file, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            self.log.addHandler(handler)

    def close_log(self) -> None:
        for handler in list(self.log.handlers):
            handler.close()
            self.log.removeHandler(handler)

    def console_warning(self, message: str) -> None:
        """A warning in train.log that the user also sees on the console."""
        self.log.warning(message)
        if self.console is not None:
            self.console(message)

    # Files
    def write_config(self, resolved: dict[str, Any]) -> None:
        atomic_write_text(self.dir.config, yaml.safe_dump(resolved, sort_keys=False))

    def write_status(self, state: RunState, **fields: Any) -> None:
        status = {"state": state.value, **fields, "pid": os.getpid(), "updated": _now()}
        atomic_write_json(self.dir.status_file, status)

    def event(self, kind: str, **fields: Any) -> None:
        try:
            with open(self.dir.events, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"event": kind, "time": _now(), **fields}) + "\n")
        except OSError as exc:
            raise RunDirError(f"cannot write {self.dir.events}: {exc.strerror or exc}") from exc

    def write_history(self, history: dict[str, list], epochs: list[int],
                      params: dict[str, Any]) -> None:
        """history.csv (epoch, every logged value, lr, seconds) and history.json, rewritten
        whole from the in-memory history so a resume never duplicates rows."""
        keys = [k for k in history if k not in ("lr", "seconds")]
        keys += [k for k in ("lr", "seconds") if k in history]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.separator, lineterminator="\n")
        writer.writerow(["epoch", *keys])
        for row, epoch in enumerate(epochs):
            writer.writerow([epoch, *(_cell(history[k], row) for k in keys)])
        atomic_write_text(self.dir.history_csv, buffer.getvalue())
        atomic_write_json(self.dir.history_json,
                          {"history": history, "params": params, "epoch": epochs})

    def write_metrics(self, metrics: dict[str, float]) -> None:
        atomic_write_json(self.dir.metrics, metrics)

    def write_weights(self, models: dict[str, Any]) -> None:
        save_weights_h5(self.dir.weights, models)

    # The run's story, as the fit session and the loop tell it
    def started(self, kind: str, epoch: int, step: int, setup_seconds: float) -> None:
        self.event(kind, epoch=epoch, step=step, setup_seconds=setup_seconds)
        self.log.info(f"{kind} at epoch {epoch + 1}, step {step} ({setup_seconds}s after start)")

    def epoch_ended(self, epoch: int, logs: dict[str, float], position: dict[str, Any],
                    history: dict[str, list], epochs: list[int], params: dict[str, Any]) -> None:
        self.write_history(history, epochs, params)
        self.write_status(RunState.RUNNING, **position)
        self.event("epoch", epoch=epoch, logs=logs)
        self.log.info(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v:.6g}" for k, v in logs.items()))

    def ended(self, state: RunState, reason: str, position: dict[str, Any]) -> None:
        """An unfinished end (interrupted, diverged, failed). Best effort: on a full disk the
        error being reported matters more than the status."""
        (self.log.info if state is RunState.INTERRUPTED else self.log.error)(
            f"{state.value}: {reason}")
        try:
            self.write_status(state, **position)
            self.event(state.value, reason=reason)
        except RunDirError:
            pass

    def finished(self, state: RunState, position: dict[str, Any], epochs: int,
                 test: dict[str, float] | None) -> None:
        self.write_status(state, **position)
        self.event(state.value, epochs=epochs, test=test)


class WorkerRecord(RunRecord):
    """The record as ranks other than 0 see it under torchrun: rank 0 writes every file once."""

    writes = False

    def __init__(self, run_dir: RunDir, history_separator: str = ","):
        self.dir = run_dir
        self.separator = history_separator
        self.console = None
        self.log = logging.getLogger("trainer.worker")
        self.log.propagate = False
        if not self.log.handlers:
            self.log.addHandler(logging.NullHandler())

    def create(self) -> None: pass
    def open_log(self) -> None: pass
    def close_log(self) -> None: pass
    def write_config(self, resolved: dict[str, Any]) -> None: pass
    def write_status(self, state: RunState, **fields: Any) -> None: pass
    def event(self, kind: str, **fields: Any) -> None: pass
    def write_history(self, *args: Any) -> None: pass
    def write_metrics(self, metrics: dict[str, float]) -> None: pass
    def write_weights(self, models: dict[str, Any]) -> None: pass


def _cell(values: list, row: int) -> Any:
    value = values[row] if row < len(values) else None
    return "" if value is None else repr(value) if isinstance(value, float) else value


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
