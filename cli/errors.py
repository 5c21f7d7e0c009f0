"""The one place where errors become messages and exit codes (SPEC section 1)."""
from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import typer

from trainer.engine.errors import RunLocked, TrainerError, TrainingInterrupted

EXIT_INTERNAL = 1


def report_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except RunLocked as exc:
            _print(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except TrainingInterrupted as exc:
            _print(f"interrupted: {exc}; run the same command again to continue")
            raise typer.Exit(exc.exit_code) from None
        except TrainerError as exc:
            _print(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:  # Ctrl-C before training installed its own handler
            _print("interrupted before training started; run the same command again to continue")
            raise typer.Exit(TrainingInterrupted.exit_code) from None
        except Exception as exc:  # a bug: one line here, the traceback in a log
            log = _write_crash_log()
            _print(f"internal error: {type(exc).__name__}: {exc} (traceback in {log})")
            raise typer.Exit(EXIT_INTERNAL) from None
    return wrapper


def _print(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")


def _write_crash_log() -> Path:
    """The run's train.log already has the traceback when training failed; this file keeps
    it for failures outside a run too."""
    path = Path("runs") / "trainer-crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(traceback.format_exc() + "\n")
    except OSError:
        path = Path("<unwritable>")
    return path
