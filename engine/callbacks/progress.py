"""Progress display: a tqdm bar on a terminal (refreshed on a timer, the only time it reads
the device), or one plain line per epoch for cron and CI logs."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..loop.step_logs import read_step_logs
from .base import Callback


def format_logs(logs: dict[str, Any]) -> str:
    return " - ".join(f"{k}: {float(v):.4f}" for k, v in logs.items() if k != "seconds")


class EpochLines(Callback):
    """`Epoch 1/2 - 3.2s - loss: 0.3 - ...`, one line per epoch."""

    def __init__(self, stream: TextIO = sys.stdout):
        self.stream = stream

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.stream.write(f"Epoch {epoch + 1}/{self.loop.epochs} - "
                          f"{logs.get('seconds', 0):.1f}s - {format_logs(logs)}\n")
        self.stream.flush()


class ProgressBar(EpochLines):
    def __init__(self, stream: TextIO = sys.stdout, refresh_seconds: float = 0.5):
        super().__init__(stream)
        self.refresh_seconds = refresh_seconds
        self.bar = None
        self._next_refresh = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm import tqdm
        self.bar = tqdm(total=self.loop.steps_per_epoch, initial=self.loop.progress.step,
                        file=self.stream, desc=f"Epoch {epoch + 1}/{self.loop.epochs}", unit="step",
                        dynamic_ncols=True, leave=False)
        self._next_refresh = time.monotonic() + self.refresh_seconds

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now < self._next_refresh or self.bar is None:
            return
        self._next_refresh = now + self.refresh_seconds
        self.bar.update(batch + 1 - self.bar.n)
        values = read_step_logs(logs or {}, self.loop.recipe, "train_step")
        self.bar.set_postfix_str(format_logs(values), refresh=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
