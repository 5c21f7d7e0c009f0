"""ModelCheckpoint: Keras's filepath template (`{epoch:03d}`, `{val_loss:.4f}`, `{batch}`),
monitor/mode, save_best_only, save_weights_only, save_freq ("epoch" or every N batches), plus
`keep` (only the newest K files).

Relative filepaths land in the run's `checkpoints/` folder. A `.pt` file is a full
checkpoint (`trainer fit --resume` and `trainer evaluate --ckpt` take it) or, with
save_weights_only, the models' weights; a `.h5` file holds the weights as HDF5. Files are
written atomically."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..state.weights import save_weights_h5
from .base import CALLBACKS, MonitorCallback


@CALLBACKS.register("ModelCheckpoint")
class ModelCheckpoint(MonitorCallback):
    def __init__(self, filepath: str | None = None, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None, keep: int | None = None):
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        if keep is not None and keep < 1:
            raise ValueError("keep must be >= 1")
        self.filepath = filepath or ("best.pt" if save_best_only else "epoch_{epoch:03d}.pt")
        if self.filepath.endswith(".h5") and not save_weights_only:
            raise ValueError("a .h5 filepath holds weights only: set save_weights_only: true "
                             "or use a .pt filepath")
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.uses_batch_hooks = save_freq != "epoch"
        self.keep = keep
        self.verbose = verbose
        self.batches_since_save = 0
        self.current_epoch = 0
        self.saved: list[str] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.batches_since_save += 1
        if self.batches_since_save >= self.save_freq:
            self.batches_since_save = 0
            self._save(self.current_epoch, {k: float(v) for k, v in (logs or {}).items()}, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch: int, logs: dict[str, float], batch: int | None = None) -> None:
        path = self._path(epoch, logs, batch)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:  # Keras saves anyway
                self.loop.warn(f"ModelCheckpoint can save the best model only with "
                               f"'{self.monitor}' logged; saving {path.name} regardless")
            elif not self._is_improvement(current, self.best):
                return
            else:
                self.best = current
        if path.suffix == ".h5":
            if self.loop.is_main:
                save_weights_h5(path, self.loop.recipe.models)
        else:
            self.loop.save_checkpoint(path, weights_only=self.save_weights_only)
        self.say(f"Epoch {epoch + 1}: saved {path}")
        if str(path) in self.saved:
            self.saved.remove(str(path))
        self.saved.append(str(path))
        if self.keep is not None and self.loop.is_main:
            while len(self.saved) > self.keep:
                Path(self.saved.pop(0)).unlink(missing_ok=True)

    def _path(self, epoch: int, logs: dict[str, float], batch: int | None) -> Path:
        fields = {**logs, "epoch": epoch + 1}
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            name = self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise self.config_error(f"cannot fill in '{self.filepath}' ({exc!r}); the fields "
                                    f"available are {', '.join(fields)}", "filepath") from None
        path = Path(name)
        return path if path.is_absolute() else self.loop.run_dir.checkpoints / path

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "batches_since_save": self.batches_since_save,
                "saved": list(self.saved)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.batches_since_save = state["batches_since_save"]
        self.saved = list(state["saved"])
