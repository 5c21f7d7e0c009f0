"""`--log-format json` (or TRAINER_LOG_FORMAT=json): the sink that writes one JSON object per
line on stdout for each event of a command -- started, epoch, checkpoint, interrupted,
completed, error -- and keeps everything else off stdout meanwhile. Imports no torch (the CLI
reports config errors through it)."""
from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from typing import Any, Iterator, TextIO

from .errors import ConfigError

ENV_VAR = "TRAINER_LOG_FORMAT"
FORMATS = ("human", "json")


def json_log_for(command: str, log_format: str | None) -> "JsonLog | None":
    """The sink of a command run with `log_format`; None in human mode or for a command
    without the option (`log_format` None)."""
    if log_format is None or log_format == "human":
        return None
    if log_format not in FORMATS:
        raise ConfigError(f"--log-format must be human or json, got '{log_format}' "
                          f"(--log-format or ${ENV_VAR})")
    return JsonLog(command, sys.stdout)


class JsonLog:
    def __init__(self, command: str, stream: TextIO):
        self.command = command
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "command": self.command,
                  "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **fields}
        self.stream.write(json.dumps(_plain(record)) + "\n")
        self.stream.flush()

    @contextlib.contextmanager
    def owning_stdout(self) -> Iterator["JsonLog"]:
        """While the command runs, whatever else would go to stdout goes to stderr."""
        with contextlib.redirect_stdout(sys.stderr):
            yield self


def _plain(value: Any) -> Any:
    """JSON without NaN/Infinity (which strict parsers refuse): non-finite numbers as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
