"""The one place where errors become messages and exit codes (SPEC section 1)."""
from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import typer

from trainer.engine.callbacks.json_log import JsonLog, json_log_for
from trainer.engine.errors import RunLocked, TrainerError, TrainingInterrupted

EXIT_INTERNAL = 1


def report_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Also, for a command with a `log_format` option: in json mode, stdout is the JSON event
    log (`json_log()` is its sink) and every failure is an `error` (or `interrupted`) event."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _active_log
        log = None
        try:
            log = json_log_for(command.__name__, kwargs.get("log_format"))
            _active_log = log
            with log.owning_stdout() if log else contextlib.nullcontext():
                return command(*args, **kwargs)
        except typer.Exit:
            raise
        except RunLocked as exc:
            _fail(log, exc, f"error: {exc}", exc.exit_code)
        except TrainingInterrupted as exc:
            _fail(log, exc, f"interrupted: {exc}; run the same command again to continue",
                  exc.exit_code)
        except TrainerError as exc:
            _fail(log, exc, f"error: {exc}", exc.exit_code)
        except KeyboardInterrupt as exc:  # Ctrl-C before training installed its own handler
            _fail(log, exc, "interrupted before training started; run the same command again "
                  "to continue", TrainingInterrupted.exit_code)
        except Exception as exc:  # a bug: one line here, the traceback in a log
            crash_log = _write_crash_log()
            _fail(log, exc, f"internal error: {type(exc).__name__}: {exc} (traceback in "
                  f"{crash_log})", EXIT_INTERNAL)
        finally:
            _active_log = None
    return wrapper


_active_log: JsonLog | None = None


def json_log() -> JsonLog | None:
    """The running command's JSON event sink; None in human mode."""
    return _active_log


def _fail(log: JsonLog | None, exc: BaseException, message: str, exit_code: int) -> None:
    _print(message)
    if log is not None:
        interrupted = isinstance(exc, (TrainingInterrupted, KeyboardInterrupt))
        log.emit("interrupted" if interrupted else "error", exit_code=exit_code,
                 error=type(exc).__name__, message=str(exc) or message,
                 key_path=getattr(exc, "key_path", None) or None,
                 file=getattr(exc, "file", None))
    raise typer.Exit(exit_code) from None


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
