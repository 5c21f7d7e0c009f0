"""RunRecorder: after every epoch, history.csv/json, status.json and events.jsonl in the run
directory. It is always the last callback, so it records what the others decided."""
from __future__ import annotations

import operator
from typing import Any

from ..environment import run_environment
from .base import Callback, MonitorCallback


class RunRecorder(Callback):
    def __init__(self, separator: str = ","):
        self.separator = separator

    def on_train_begin(self, logs=None):
        loop = self.loop
        kind = "resumed" if loop.resumed else "started"
        setup = round(loop.seconds_since_start(), 3)
        loop.run_dir.event(kind, epoch=loop.epoch, step=loop.step, setup_seconds=setup,
                           environment=run_environment(loop.device, loop.cfg.precision))
        loop.note(f"{kind} at epoch {loop.epoch + 1}, step {loop.step} ({setup}s after start)")

    def write_history(self) -> None:
        loop = self.loop
        loop.run_dir.write_history(loop.history, loop.epochs_done, history_params(loop),
                                   self.separator)

    def on_epoch_end(self, epoch, logs=None):
        loop = self.loop
        self.write_history()
        loop.run_dir.write_status("running", epoch=epoch + 1, step=loop.global_step,
                                  **best_monitored(loop))
        loop.run_dir.event("epoch", epoch=epoch, logs=logs)
        loop.note(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v:.6g}" for k, v in (logs or {}).items()))


def history_params(loop) -> dict:
    """history.json's `params`, as Keras's History records them."""
    return {"epochs": loop.cfg.fit.epochs, "steps": loop.steps_per_epoch,
            "batch_size": loop.cfg.fit.batch_size}


def best_monitored(loop) -> dict[str, Any]:
    """{"monitor": name, "best": value} for status.json and `trainer runs`: the first
    monitoring callback's quantity and direction, else val_loss (or loss), lower is better."""
    watcher = next((c for c in loop.callbacks.callbacks if isinstance(c, MonitorCallback)), None)
    if watcher is not None:
        monitor, better = watcher.monitor, watcher.monitor_op
    else:
        monitor, better = ("val_loss" if "val_loss" in loop.history else "loss"), operator.lt
    values = [v for v in loop.history.get(monitor, []) if v is not None]
    if not values:
        return {"monitor": monitor, "best": None}
    best = values[0]
    for value in values[1:]:
        if better(value, best):
            best = value
    return {"monitor": monitor, "best": best}
