"""fit's JSON events (`--log-format json`): started (or resumed), each epoch, each checkpoint,
written through the sink in engine/json_log.py."""
from __future__ import annotations

from ..json_log import JsonLog
from .base import Callback


class JsonEvents(Callback):
    """fit's events as they happen: started (or resumed), each epoch, each checkpoint."""

    uses_batch_hooks = False

    def __init__(self, log: JsonLog, config_hash: str):
        self.log = log
        self.config_hash = config_hash

    def on_train_begin(self, logs=None):
        loop, progress = self.loop, self.loop.progress
        self.log.emit("started", run_dir=str(loop.run_dir.path), resumed=progress.resumed,
                      epoch=progress.epoch, step=progress.step, epochs=loop.epochs,
                      steps_per_epoch=loop.steps_per_epoch, config_hash=self.config_hash)

    def on_epoch_end(self, epoch, logs=None):
        self.log.emit("epoch", epoch=epoch, epochs=self.loop.epochs,
                      step=self.loop.progress.global_step, logs=dict(logs or {}))

    def on_checkpoint(self, path, logs=None):
        progress = self.loop.progress
        self.log.emit("checkpoint", path=str(path), epoch=progress.epoch, step=progress.step,
                      global_step=progress.global_step)
