"""The run directory (SPEC section 4): the one module that spells its file names, and the
readers `trainer runs`, `trainer plot` and resume use. RunRecord (run_record.py) writes them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..errors import RunDirError
from .atomic import TEMP_SUFFIX


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
    lock_file = property(lambda self: self.path / ".lock")
    checkpoints = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    weights = property(lambda self: self.path / "model.weights.h5")
    metrics = property(lambda self: self.path / "metrics.json")
    curves = property(lambda self: self.path / "curves.png")

    @staticmethod
    def is_run(path: Path) -> bool:
        """Whether `path` holds a run (what `trainer runs` lists)."""
        return RunDir(path).status_file.is_file()

    def exists(self) -> bool:
        return self.config.is_file()

    def remove_stale_temporaries(self) -> None:
        """Temporary files of atomic writes a kill interrupted (only ever a partial copy)."""
        for folder in (self.path, self.checkpoints):
            for leftover in folder.glob(f".*{TEMP_SUFFIX}"):
                leftover.unlink(missing_ok=True)

    # Readers: a missing or unreadable file reads as empty, except the config, whose absence
    # means "no run yet" and whose damage is an error (resume must not guess).
    def read_config(self) -> dict[str, Any] | None:
        try:
            return yaml.safe_load(self.config.read_text())
        except FileNotFoundError:
            return None
        except (OSError, yaml.YAMLError) as exc:
            raise RunDirError(f"cannot read {self.config}: {exc}") from exc

    def read_config_or_empty(self) -> dict[str, Any]:
        try:
            data = self.read_config()
        except RunDirError:
            return {}
        return data if isinstance(data, dict) else {}

    def read_status(self) -> dict[str, Any]:
        return _read_json(self.status_file)

    def read_history(self) -> tuple[dict[str, list], list[int]]:
        """history.json: (values by key, the epoch index of each row)."""
        recorded = _read_json(self.history_json)
        history = recorded.get("history")
        return (history if isinstance(history, dict) else {}), list(recorded.get("epoch") or [])

    def read_events(self) -> Iterator[dict[str, Any]]:
        try:
            lines = self.events.read_text().splitlines()
        except OSError:
            return
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line a kill cut short
            if isinstance(event, dict):
                yield event


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def choose_run_dir(name: str, run_dir: Path | None, resume: str) -> tuple[Path, str]:
    """(run dir, resume mode): runs/<name> unless given; `--resume never` on an existing one
    takes the next free runs/<name>-N, which is then a fresh start ('auto')."""
    path = Path(run_dir or Path("runs") / name)
    if resume == "never" and path.exists():
        return next_free_run_dir(path), "auto"
    return path, resume


def next_free_run_dir(base: Path) -> Path:
    """runs/<name>-2, runs/<name>-3, ... for `--resume never`."""
    n = 2
    while (candidate := base.with_name(f"{base.name}-{n}")).exists():
        n += 1
    return candidate
