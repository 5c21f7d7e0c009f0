"""RunRecorder: keeps the run directory current after every epoch (history.csv/json,
status.json, events.jsonl, train.log). Always the last callback, so it records what the
others decided."""
from __future__ import annotations

from .base import Callback


class RunRecorder(Callback):
    def __init__(self, separator: str = ","):
        self.separator = separator

    def on_train_begin(self, logs=None):
        loop = self.loop
        kind = "resumed" if loop.resumed else "started"
        loop.run_dir.event(kind, epoch=loop.epoch, step=loop.step)
        loop.note(f"{kind} at epoch {loop.epoch + 1}, step {loop.step}")

    def on_epoch_end(self, epoch, logs=None):
        loop = self.loop
        loop.run_dir.write_history(loop.history, loop.epochs_done, history_params(loop),
                                   self.separator)
        loop.run_dir.write_status("running", epoch=epoch + 1, step=loop.global_step)
        loop.run_dir.event("epoch", epoch=epoch, logs=logs)
        loop.note(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v:.6g}" for k, v in (logs or {}).items()))


def history_params(loop) -> dict:
    """history.json's `params`, as Keras's History records them."""
    return {"epochs": loop.cfg.fit.epochs, "steps": loop.steps_per_epoch,
            "batch_size": loop.cfg.fit.batch_size}
