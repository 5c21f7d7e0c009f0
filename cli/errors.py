"""The one place where errors become messages and exit codes (SPEC section 1)."""
from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import typer

from trainer.engine.errors import TrainerError, TrainingInterrupted
from trainer.engine.torchrun_env import rank

from .launch import report_exit

EXIT_INTERNAL = 1


def report_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        code = 0
        try:
            return command(*args, **kwargs)
        except typer.Exit as exc:
            code = exc.exit_code
            raise
        except BaseException as exc:  # noqa: BLE001 - every ending gets one line and a code
            code = _report(exc)
            raise typer.Exit(code) from None
        finally:
            report_exit(code)  # to the --nproc-per-node launcher, when it started us
    return wrapper


def _report(exc: BaseException) -> int:
    if isinstance(exc, TrainingInterrupted):
        _print(f"interrupted: {exc}; run the same command again to continue")
        return exc.exit_code
    if isinstance(exc, TrainerError):
        _print(f"error: {exc}")
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):  # a second stop signal inside training
        _print("interrupted: stopped at once; run the same command again to continue")
        return TrainingInterrupted.exit_code
    if not isinstance(exc, Exception):
        raise exc  # SystemExit and the like keep their meaning
    log = _write_crash_log()  # a bug: one line here, the traceback in a log
    _print(f"internal error: {type(exc).__name__}: {exc} (traceback in {log})")
    return EXIT_INTERNAL


def _print(message: str) -> None:
    if rank() == 0:  # under torchrun, rank 0 speaks for every rank
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
