"""Python data sources and joined sources: a `keras.utils.Sequence`-style class from the
guides (reading image files by name) and a generator function train and resume exactly
after an interruption mid-epoch; errors in the user's code name its file and line (exit 1
for a bug, 2 for a missing file or a malformed batch), never a hang; `concat` of MNIST train
and test has 70,000 samples."""
from __future__ import annotations

import textwrap

import pytest

from image_folders import mnist_folder
from test_resume_exact import assert_same_run

DATA = textwrap.dedent('''
    import math
    import os

    import numpy as np
    from PIL import Image


    class DigitFiles:
        """The guides' Sequence: file names and labels in memory, images read per batch."""

        def __init__(self, folder, batch_size, seed):
            classes = sorted(os.listdir(folder))
            self.files = [os.path.join(folder, c, f) for c in classes
                          for f in sorted(os.listdir(os.path.join(folder, c)))]
            self.labels = [classes.index(os.path.basename(os.path.dirname(f))) for f in self.files]
            self.batch_size = batch_size
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(self.files))

        def __len__(self):
            return math.ceil(len(self.files) / self.batch_size)

        def __getitem__(self, index):
            rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            x = np.stack([np.asarray(Image.open(self.files[i]), dtype=np.float32)[None] / 255
                          for i in rows])
            return x, np.array([self.labels[i] for i in rows])

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(self.files))


    def digit_batches(folder, batch_size, seed, epoch):
        files = DigitFiles(folder, batch_size, seed * 1000 + epoch)
        for index in range(len(files)):
            yield files[index]


    class Buggy(DigitFiles):
        def __getitem__(self, index):
            return {"wrong": 1}["key"]


    class MissingFile(DigitFiles):
        def __getitem__(self, index):
            return open("no/such/image.png", "rb")


    class Malformed(DigitFiles):
        def __getitem__(self, index):
            return "pixels", [1, 2]
''')

STOPPER = textwrap.dedent('''
    import os
    import signal

    from trainer.engine.callbacks import Callback


    class StopAt(Callback):
        """SIGTERM to this process after global step $STOP_AT (fit's handler checkpoints)."""

        def on_train_batch_end(self, batch, logs=None):
            if self.loop.progress.global_step == int(os.environ.get("STOP_AT", "-1")):
                os.kill(os.getpid(), signal.SIGTERM)
''')

CONFIG = """
name: {name}
seed: 7
device: cpu
data:
  train: {{source: "data.py:{source}", args: {args}{steps}}}
model:
  inputs: {{image: [1, 28, 28]}}
  layers:
    - {{type: RandomTranslation, height_factor: 0.1, width_factor: 0.1}}
    - {{type: Flatten}}
    - {{type: Dense, units: 32, activation: relu}}
    - {{type: Dropout, rate: 0.2}}
    - {{type: Dense, units: 3, activation: softmax}}
compile:
  optimizer: adam
  loss: sparse_categorical_crossentropy
  metrics: [sparse_categorical_accuracy]
fit: {{epochs: 2, checkpoint_every: 4, callbacks: [stopper.py:StopAt]}}
"""


@pytest.fixture
def python_source(workdir):
    mnist_folder(workdir / "digits", per_class=24)
    (workdir / "data.py").write_text(DATA)
    (workdir / "stopper.py").write_text(STOPPER)

    def write(name, source, args="{folder: digits, batch_size: 16}", steps=""):
        (workdir / f"{name}.yaml").write_text(CONFIG.format(name=name, source=source,
                                                            args=args, steps=steps))
        return f"{name}.yaml"
    return write


@pytest.mark.parametrize("source, steps", [("DigitFiles", ""), ("digit_batches", ", steps: 5")])
def test_user_source_trains_and_resumes_exactly(cli, workdir, monkeypatch, python_source,
                                                source, steps):
    reference = python_source("reference", source, steps=steps)
    result = cli("fit", reference)
    assert result.exit_code == 0, result.output
    assert "Epoch 2/2" in result.output
    resumed = python_source("resumed", source, steps=steps)
    monkeypatch.setenv("STOP_AT", "6")  # mid-epoch 2, after the checkpoint at step 4
    result = cli("fit", resumed)
    assert result.exit_code == 75, result.output
    monkeypatch.delenv("STOP_AT")
    result = cli("fit", resumed)
    assert result.exit_code == 0, result.output
    assert_same_run(workdir / "runs/resumed", workdir / "runs/reference")


BUG_LINE = 1 + next(i for i, line in enumerate(DATA.splitlines()) if '["key"]' in line)


@pytest.mark.parametrize("source, code, message", [
    ("Buggy", 1, f"data.py:{BUG_LINE} in __getitem__: the data source data.py:Buggy raised "
                 f"KeyError: 'key'"),
    ("MissingFile", 2, "FileNotFoundError: [Errno 2] No such file or directory: "
                       "'no/such/image.png' (in the data source at"),
    ("Malformed", 2, "'image' must be a numeric array with one row per sample"),
])
def test_errors_in_user_code_name_its_file_and_line(cli, python_source, source, code, message):
    result = cli("fit", python_source("broken", source))
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_generator_without_steps_validation_split_and_unknown_sources_are_refused(cli, python_source):
    result = cli("fit", python_source("nosteps", "digit_batches"))
    assert result.exit_code == 2 and "data.train.steps" in result.output
    result = cli("fit", python_source("split", "DigitFiles"), "--set", "fit.validation_split=0.2")
    assert result.exit_code == 2 and "fit.validation_split" in result.output
    result = cli("fit", python_source("typo", "DigitFiles"), "--set", "data.train.source=imagefolder")
    assert result.exit_code == 2
    assert "data.train.source" in result.output and "did you mean 'image_folder'" in result.output


def test_concat_of_mnist_train_and_test_has_70000_samples(cli, workdir):
    (workdir / "gan_data.yaml").write_text(textwrap.dedent("""
        name: joined
        data:
          train:
            source: concat
            sources: [{source: mnist, split: train}, {source: mnist, split: test}]
          transforms: {x: [{reshape: [784]}, {scale: 0.00392156862745098}]}
        model:
          inputs: {image: [784]}
          layers: [{type: Dense, units: 10, activation: softmax}]
        compile: {loss: sparse_categorical_crossentropy}
    """))
    result = cli("validate", "gan_data.yaml")
    assert result.exit_code == 0, result.output
    assert "train 70000 samples" in result.output
