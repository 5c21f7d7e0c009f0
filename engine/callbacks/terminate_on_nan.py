"""TerminateOnNaN: stop when the loss is NaN/inf; the run ends as 'diverged' (exit 3).

Checking a batch loss needs its value on the host, so this callback reads it at the end of each
batch: the one deliberate per-step sync, paid only by runs that ask for it."""
from __future__ import annotations

import math

from .base import CALLBACKS, Callback


@CALLBACKS.register("TerminateOnNaN")
class TerminateOnNaN(Callback):
    def __init__(self, raise_error: bool = False):
        # Keras's raise_error picks between a graceful stop and an exception; here both end
        # the run the same way: state "diverged", exit 3, the last good checkpoint kept.
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.loop.diverged(f"batch {batch}: invalid loss {float(loss)}, terminating training")
