"""The Keras guide's LossHistory ("Writing your own callbacks"): the loss after every training
batch. As a trainer callback it also keeps the list in checkpoints, so a resumed run still has
every batch, and writes it to `batch_losses.csv` in the run directory after each epoch.

Reading `logs["loss"]` waits for the device once per batch; that is this callback's price."""
from __future__ import annotations

from trainer.engine.callbacks import Callback


class LossHistory(Callback):
    def __init__(self):
        self.per_batch_losses: list[float] = []

    def on_batch_end(self, batch, logs=None):
        self.per_batch_losses.append(float(logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        rows = "".join(f"{i},{loss!r}\n" for i, loss in enumerate(self.per_batch_losses))
        (self.loop.run_dir.path / "batch_losses.csv").write_text("batch,loss\n" + rows)

    # What a checkpoint keeps of this callback.
    def state_dict(self):
        return {"per_batch_losses": self.per_batch_losses}

    def load_state_dict(self, state):
        self.per_batch_losses = list(state["per_batch_losses"])
