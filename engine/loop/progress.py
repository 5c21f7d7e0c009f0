"""TrainingProgress: where training stands (epoch, step, global step, history, elapsed time,
outcome), as one object the loop advances, callbacks read, and checkpoints save and restore."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingProgress:
    epoch: int = 0                  # the epoch in progress (0-based)
    step: int = 0                   # steps completed in that epoch
    global_step: int = 0
    history: dict[str, list] = field(default_factory=dict)
    epochs_done: list[int] = field(default_factory=list)  # the epoch of each history row
    elapsed: float = 0.0            # training seconds over all invocations
    epoch_seconds: float = 0.0      # seconds spent so far on the epoch in progress
    stop_requested: bool = False    # a callback asked to stop (EarlyStopping)
    outcome: str | None = None      # set once training has ended
    resumed: bool = False           # this invocation continued from a checkpoint

    def advance_steps(self, count: int = 1) -> None:
        self.step += count
        self.global_step += count

    def add_time(self, seconds: float) -> None:
        self.epoch_seconds += seconds
        self.elapsed += seconds

    def record_epoch(self, logs: dict[str, float]) -> None:
        """Append the finished epoch's logs; a key first logged now has None for earlier rows."""
        for key in logs:
            self.history.setdefault(key, [None] * len(self.epochs_done))
        for key, values in self.history.items():
            values.append(logs.get(key))
        self.epochs_done.append(self.epoch)
        self.epoch += 1
        self.step = 0
        self.epoch_seconds = 0.0

    def last_logs(self) -> dict[str, float]:
        """The last recorded epoch's values (no val_ keys when it did not validate)."""
        return {k: v[-1] for k, v in self.history.items() if v and v[-1] is not None}

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "step": self.step, "global_step": self.global_step,
                "history": self.history, "epochs_done": self.epochs_done,
                "elapsed": self.elapsed, "epoch_seconds": self.epoch_seconds,
                "stop_training": self.stop_requested, "outcome": self.outcome}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.step, self.global_step = state["epoch"], state["step"], state["global_step"]
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epochs_done = list(state["epochs_done"])
        self.elapsed = state["elapsed"]
        self.epoch_seconds = state.get("epoch_seconds", 0.0)
        self.stop_requested = state["stop_training"]
        self.outcome = state["outcome"]
        self.resumed = True
