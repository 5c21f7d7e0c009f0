"""The one place where errors become messages and exit codes (SPEC section 1)."""
from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import typer

from trainer.engine.errors import TrainerError, TrainingInterrupted
from trainer.engine.json_log import JsonLog, json_log_for
from trainer.engine.torchrun_env import rank

from .launch import report_exit

EXIT_INTERNAL = 1


def report_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Also, for a command with a `log_format` option: in json mode, stdout is the JSON event
    log (`json_log()` is its sink) and every ending but success is an `error` or
    `interrupted` event."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _active_log
        code = 0
        try:
            _active_log = json_log_for(command.__name__, kwargs.get("log_format"))
            with _active_log.owning_stdout() if _active_log else contextlib.nullcontext():
                return command(*args, **kwargs)
        except typer.Exit as exc:
            code = exc.exit_code
            raise
        except BaseException as exc:  # noqa: BLE001 - every ending gets one line and a code
            code = _report(exc, _active_log)
            raise typer.Exit(code) from None
        finally:
            _active_log = None
            report_exit(code)  # to the --nproc-per-node launcher, when it started us
    return wrapper


_active_log: JsonLog | None = None


def json_log() -> JsonLog | None:
    """The running command's JSON event sink; None in human mode."""
    return _active_log


def _report(exc: BaseException, log: JsonLog | None) -> int:
    code, message = _outcome(exc)
    _print(message)
    if log is not None and rank() == 0:  # under torchrun, rank 0 speaks for every rank
        interrupted = isinstance(exc, (TrainingInterrupted, KeyboardInterrupt))
        log.emit("interrupted" if interrupted else "error", exit_code=code,
                 error=type(exc).__name__, message=str(exc) or message,
                 key_path=getattr(exc, "key_path", None) or None,
                 file=getattr(exc, "file", None))
    return code


def _outcome(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line on stderr for an ending."""
    if isinstance(exc, TrainingInterrupted):
        return exc.exit_code, f"interrupted: {exc}; run the same command again to continue"
    if isinstance(exc, TrainerError):
        return exc.exit_code, f"error: {exc}"
    if isinstance(exc, KeyboardInterrupt):  # a second stop signal inside training
        return (TrainingInterrupted.exit_code,
                "interrupted: stopped at once; run the same command again to continue")
    if not isinstance(exc, Exception):
        raise exc  # SystemExit and the like keep their meaning
    log = _write_crash_log()  # a bug: one line here, the traceback in a log
    return EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc} (traceback in {log})"


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
