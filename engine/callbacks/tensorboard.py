"""TensorBoard: scalars per epoch (and every `update_freq` batches) through
torch.utils.tensorboard. The tensorboard package is optional: without it the callback is a
config error that says how to install it."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .base import CALLBACKS, Callback

INSTALL_HINT = ("the TensorBoard callback needs the tensorboard package, which is not "
                "installed; install it with: pip install tensorboard")


@CALLBACKS.register("TensorBoard")
class TensorBoard(Callback):
    """Keras layout: `<log_dir>/train` and `<log_dir>/validation`, tags `epoch_<name>` at step
    = epoch and `batch_<name>` at step = global batch. A relative log_dir is in the run dir."""

    def __init__(self, log_dir: str = "logs", update_freq: str | int = "epoch"):
        if importlib.util.find_spec("tensorboard") is None:
            raise ValueError(INSTALL_HINT)
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"update_freq must be 'epoch' or a positive integer, got {update_freq!r}")
        self.log_dir = log_dir
        self.update_freq = update_freq
        self.uses_batch_hooks = update_freq != "epoch"
        self.writers: dict = {}

    def _writer(self, kind: str):
        if kind not in self.writers:
            from torch.utils.tensorboard import SummaryWriter
            root = Path(self.log_dir)
            root = root if root.is_absolute() else self.loop.run_dir.path / root
            self.writers[kind] = SummaryWriter(str(root / kind))
        return self.writers[kind]

    def on_train_batch_end(self, batch, logs=None):
        step = self.loop.progress.global_step
        if step % self.update_freq or not self.loop.is_main:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        if not self.loop.is_main:
            return
        for name, value in (logs or {}).items():
            if name == "seconds":
                continue
            kind, tag = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            self._writer(kind).add_scalar(f"epoch_{tag}", value, epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
