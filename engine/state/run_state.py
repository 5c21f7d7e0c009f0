"""RunState: how a run stands (status.json's `state`) and the exit code each end state means.
The one table the CLI's errors and the torchrun launcher both read."""
from __future__ import annotations

from enum import Enum


class RunState(str, Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    EARLY_STOPPED = "early_stopped"
    INTERRUPTED = "interrupted"   # a resumable checkpoint was written: run again to continue
    DIVERGED = "diverged"         # loss became NaN/inf
    FAILED = "failed"             # an error while training (a bug, or the run dir failed)

    @property
    def exit_code(self) -> int | None:
        return _EXIT_CODES[self]

    @property
    def finished(self) -> bool:
        """Nothing left to do: fit of this run dir again says so and exits 0."""
        return self in (RunState.COMPLETED, RunState.EARLY_STOPPED)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @classmethod
    def parse(cls, text: object) -> "RunState | None":
        try:
            return cls(text)
        except ValueError:
            return None


_EXIT_CODES = {RunState.RUNNING: None, RunState.COMPLETED: 0, RunState.EARLY_STOPPED: 0,
               RunState.INTERRUPTED: 75, RunState.DIVERGED: 3, RunState.FAILED: 1}
