"""The run directory (SPEC section 4): paths, status, history files, events, the human log."""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import yaml

from ..errors import RunDirError
from .atomic import TEMP_SUFFIX, atomic_write_json, atomic_write_text

FINISHED_STATES = ("completed", "early_stopped")


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)

    # Paths
    config = property(lambda self: self.path / "config.yaml")
    status_file = property(lambda self: self.path / "status.json")
    history_csv = property(lambda self: self.path / "history.csv")
    history_json = property(lambda self: self.path / "history.json")
    events = property(lambda self: self.path / "events.jsonl")
    log_file = property(lambda self: self.path / "train.log")
    checkpoints = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    weights = property(lambda self: self.path / "model.weights.h5")
    metrics = property(lambda self: self.path / "metrics.json")

    def exists(self) -> bool:
        return self.config.is_file()

    def create(self) -> None:
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot create run directory {self.path}: {exc.strerror or exc}") from exc
        if not os.access(self.path, os.W_OK):
            raise RunDirError(f"run directory {self.path} is not writable")

    def remove_stale_temporaries(self) -> None:
        """Temporary files of atomic writes a kill interrupted (only ever a partial copy)."""
        for folder in (self.path, self.checkpoints):
            for leftover in folder.glob(f".*{TEMP_SUFFIX}"):
                leftover.unlink(missing_ok=True)

    def read_config(self) -> dict[str, Any] | None:
        try:
            return yaml.safe_load(self.config.read_text())
        except FileNotFoundError:
            return None
        except (OSError, yaml.YAMLError) as exc:
            raise RunDirError(f"cannot read {self.config}: {exc}") from exc

    def write_config(self, resolved: dict[str, Any]) -> None:
        atomic_write_text(self.config, yaml.safe_dump(resolved, sort_keys=False))

    def read_status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}

    def write_status(self, state: str, **fields: Any) -> None:
        status = {"state": state, **fields, "pid": os.getpid(), "updated": _now()}
        atomic_write_json(self.status_file, status)

    def write_history(self, history: dict[str, list], epochs: list[int], params: dict[str, Any],
                      delimiter: str = ",") -> None:
        """history.csv (epoch, every logged value, lr, seconds) and history.json, rewritten
        whole from the in-memory history so a resume never duplicates rows."""
        keys = [k for k in history if k not in ("lr", "seconds")]
        keys += [k for k in ("lr", "seconds") if k in history]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
        writer.writerow(["epoch", *keys])
        for row, epoch in enumerate(epochs):
            writer.writerow([epoch, *(_cell(history[k], row) for k in keys)])
        atomic_write_text(self.history_csv, buffer.getvalue())
        atomic_write_json(self.history_json, {"history": history, "params": params, "epoch": epochs})

    def event(self, kind: str, **fields: Any) -> None:
        try:
            with open(self.events, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"event": kind, "time": _now(), **fields}) + "\n")
        except OSError as exc:
            raise RunDirError(f"cannot write {self.events}: {exc.strerror or exc}") from exc

    def logger(self) -> logging.Logger:
        logger = logging.getLogger(f"trainer.run.{self.path.resolve()}")
        if not logger.handlers:
            handler = logging.FileHandler(self.log_file, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        return logger

    def close_logger(self) -> None:
        logger = logging.getLogger(f"trainer.run.{self.path.resolve()}")
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)


class WorkerRunDir(RunDir):
    """The run directory as ranks other than 0 see it under torchrun: the same paths to read,
    and writes that do nothing (rank 0 writes every artifact once)."""

    def create(self) -> None:
        pass

    def remove_stale_temporaries(self) -> None:
        pass

    def write_config(self, resolved: dict[str, Any]) -> None:
        pass

    def write_status(self, state: str, **fields: Any) -> None:
        pass

    def write_history(self, *args: Any, **kwargs: Any) -> None:
        pass

    def event(self, kind: str, **fields: Any) -> None:
        pass

    def logger(self) -> logging.Logger:
        logger = logging.getLogger("trainer.worker")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        return logger

    def close_logger(self) -> None:
        pass


def _cell(values: list, row: int) -> Any:
    value = values[row] if row < len(values) else None
    return "" if value is None else repr(value) if isinstance(value, float) else value


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def next_free_run_dir(base: Path) -> Path:
    """runs/<name>-2, runs/<name>-3, ... for `--resume never`."""
    n = 2
    while (candidate := base.with_name(f"{base.name}-{n}")).exists():
        n += 1
    return candidate
