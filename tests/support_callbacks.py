"""Helpers shared by the callback and run-dir tests (no tests here): a small classifier config
with callbacks, and a user callback that sends its own process SIGTERM after an epoch."""
from __future__ import annotations

import copy

import conftest

BASE = {
    "name": "cb",
    "seed": 3,
    "device": "cpu",
    "data": {"train": {"source": "synthetic", "generator": "classification", "samples": 320,
                       "features": 6, "classes": 3, "noise": 2.5, "seed": 1}},
    "model": {"inputs": {"x": [6]},
              "layers": [{"type": "Dense", "units": 16, "activation": "relu"},
                         {"type": "Dense", "units": 3, "activation": "softmax"}]},
    "compile": {"optimizer": {"type": "RMSprop", "learning_rate": 0.01},
                "loss": "sparse_categorical_crossentropy",
                "metrics": ["sparse_categorical_accuracy"]},
    "fit": {"batch_size": 32, "epochs": 4, "validation_split": 0.25, "callbacks": []},
}
STEPS = 8  # 240 training samples / 32


def write_config(workdir, callbacks, **fit):
    """cb.yaml: BASE with these callbacks and fit settings."""
    config = copy.deepcopy(BASE)
    config["fit"].update(callbacks=callbacks, **fit)
    return conftest.write_config(workdir, config, "cb.yaml")


class_interrupt = '''
import os
import signal
from trainer.engine.callbacks import Callback

class InterruptAfter(Callback):
    """Sends this process SIGTERM after the epoch named by $INTERRUPT_AFTER."""
    def on_epoch_end(self, epoch, logs=None):
        if str(epoch) == os.environ.get("INTERRUPT_AFTER"):
            os.kill(os.getpid(), signal.SIGTERM)
'''
