"""Typed errors raised where a problem is found and turned into messages/exit codes by the CLI.

Each carries enough context (key path and source line, or file and key) for one clear message.
"""
from __future__ import annotations

from .state.run_state import RunState


class TrainerError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(TrainerError):
    """A config problem, located by its key path (`fit.callbacks[1].patience`) and source line."""

    def __init__(self, message: str, key_path: str = "", source: str | None = None):
        self.key_path = key_path
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        where = self.key_path or "config"
        if self.source:
            where = f"{where} ({self.source})"
        return f"{where}: {self.message}"


class DataError(TrainerError):
    """A data problem, located by file and dataset key."""

    def __init__(self, message: str, file: str | None = None, key: str | None = None):
        self.file = file
        self.key = key
        super().__init__(message)

    def __str__(self) -> str:
        where = " ".join(p for p in (self.file, f"[{self.key}]" if self.key else None) if p)
        return f"{where}: {self.message}" if where else self.message


class CheckpointError(TrainerError):
    """A checkpoint that cannot be read, or does not match what it is loaded into."""

    def __init__(self, message: str, file: str | None = None):
        self.file = file
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message


class RunDirError(TrainerError):
    """The run directory cannot be used (unwritable, disk full, config changed)."""


class RunLocked(TrainerError):
    """Another live trainer process holds the run directory."""

    exit_code = 4

    def __init__(self, run_dir: str, pid: int, host: str):
        self.pid = pid
        super().__init__(f"{run_dir} is locked by trainer process {pid} on {host}")


class RecipeError(TrainerError):
    """A recipe broke its contract with the loop (a step returned something other than a
    mapping of name -> number, or a step the command needs is missing). Names the recipe."""


class TrainingDiverged(TrainerError):
    """Loss became NaN/inf: TerminateOnNaN stopped training, or an epoch ended with a
    non-finite loss in the recipe's logs."""

    exit_code = RunState.DIVERGED.exit_code


class TrainingInterrupted(TrainerError):
    """SIGTERM/SIGINT or --max-time: a resumable checkpoint was written."""

    exit_code = RunState.INTERRUPTED.exit_code


class UserCodeError(TrainerError):
    """An exception raised by the user's own code (a Python data source), reported with the
    user's file and line; a bug there, not bad data, so it fails the run like an internal error."""

    exit_code = RunState.FAILED.exit_code


class ExportError(TrainerError):
    """A model that cannot be exported (naming the layer and why), or an export whose outputs
    differ from the checkpoint's model by more than the tolerance."""


class KerasImportError(TrainerError):
    """A `.keras` file that cannot be imported: unreadable, or using layers or arguments trainer
    does not support (every one is listed, with its layer name)."""
