"""CSVLogger: one row per epoch. Without `filename` it sets the format of the run's own
history.csv; with one, it writes that file too. Files are rewritten whole from the run's
history each epoch, so a resumed run never duplicates or loses rows."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..state.atomic import atomic_write_text
from .base import CALLBACKS, Callback


@CALLBACKS.register("CSVLogger")
class CSVLogger(Callback):
    def __init__(self, filename: str | None = None, separator: str = ",", append: bool = True):
        if len(separator) != 1:
            raise ValueError("separator must be one character")
        self.filename = filename
        self.separator = separator
        self.append = append  # a resumed run always continues its own file
        self.earlier_rows: list[list[str]] = []

    def on_train_begin(self, logs=None):
        path = self._path()
        if path is None or not self.append or self.loop.progress.resumed or not path.is_file():
            return
        # A new run appending to a file from an earlier run keeps that file's rows.
        rows = list(csv.reader(io.StringIO(path.read_text()), delimiter=self.separator))
        self.earlier_rows = rows[1:]

    def on_epoch_end(self, epoch, logs=None):
        self.write_history()

    def write_history(self) -> None:
        path = self._path()
        if path is None or not self.loop.is_main:
            return
        history, epochs = self.loop.progress.history, self.loop.progress.epochs_done
        keys = list(history)
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.separator, lineterminator="\n")
        writer.writerow(["epoch", *keys])
        writer.writerows(self.earlier_rows)
        for row, e in enumerate(epochs):
            writer.writerow([e, *(repr(history[k][row]) if row < len(history[k]) else ""
                                  for k in keys)])
        atomic_write_text(path, buffer.getvalue())

    def _path(self) -> Path | None:
        if self.filename is None:
            return None
        path = Path(self.filename)
        return path if path.is_absolute() else self.loop.run_dir.path / path

    def state_dict(self):
        return {"earlier_rows": self.earlier_rows}

    def load_state_dict(self, state):
        self.earlier_rows = state["earlier_rows"]
