"""Image folders (`source: image_folder`): Keras's labels, class names, validation files and
pixels for the same folder and seed; training on MNIST digits written as PNG files; a bad
file stops the run (exit 2, named) or is skipped; a kill -9 during a streamed, augmented run
resumes bit-identical."""
from __future__ import annotations

import signal

import numpy as np
import pytest
import torch

from image_folders import CLASSES, mnist_folder
from test_resume_exact import _fit_in_process, _trainer, _write_files, assert_same_run
from trainer.engine.config.schema import SplitSpec
from trainer.engine.data.sources.image_decode import ImageFormat, decode_image
from trainer.engine.data.sources.image_index import index_folder

CONFIG = """
name: {name}
seed: 3
device: cpu
data:
  train: {{source: image_folder, path: digits, image_size: [28, 28], color_mode: grayscale,
          validation_split: 0.2, subset: training, seed: 5{extra}}}
  validation: {{source: image_folder, path: digits, image_size: [28, 28], color_mode: grayscale,
               validation_split: 0.2, subset: validation, seed: 5{extra}}}
  transforms:
    x: [{{scale: 0.00392156862745098}}]
model:
  inputs: {{image: [1, 28, 28]}}
  layers:
{augment}    - {{type: Flatten}}
    - {{type: Dense, units: 64, activation: relu}}
    - {{type: Dense, units: 3, activation: softmax}}
compile:
  optimizer: adam
  loss: sparse_categorical_crossentropy
  metrics: [sparse_categorical_accuracy]
fit: {{batch_size: 16, epochs: {epochs}, checkpoint_every: 5{callbacks}}}
"""
AUGMENT = """    - {type: RandomFlip, mode: horizontal}
    - {type: RandomRotation, factor: 0.05}
    - {type: RandomZoom, height_factor: 0.1}
    - {type: RandomTranslation, height_factor: 0.1, width_factor: 0.1}
    - {type: RandomContrast, factor: 0.2, value_range: [0, 1]}
"""


def _config(name="digits", epochs=3, extra="", augment="", callbacks=""):
    return CONFIG.format(name=name, epochs=epochs, extra=extra, augment=augment,
                         callbacks=callbacks)


def test_mnist_png_folder_trains_and_a_corrupt_file_stops_or_is_skipped(cli, workdir):
    mnist_folder(workdir / "digits", per_class=100, corrupt=True)
    (workdir / "digits.yaml").write_text(_config())
    result = cli("fit", "digits.yaml")
    assert result.exit_code == 2, result.output
    assert "digits/seven/7_broken.png" in result.output and "skip_bad_files" in result.output
    assert not (workdir / "runs/digits/checkpoints").exists()

    (workdir / "digits.yaml").write_text(_config(extra=", skip_bad_files: true"))
    validated = cli("validate", "digits.yaml")
    assert validated.exit_code == 0, validated.output
    assert "train 240 samples, validation 60 samples" in validated.output
    assert f"classes {', '.join(CLASSES)}" in validated.output
    result = cli("fit", "digits.yaml")
    assert result.exit_code == 0, result.output
    assert "skipped 1 unreadable image file(s) of 241" in result.output
    history = (workdir / "runs/digits/history.csv").read_text().splitlines()
    accuracy = float(history[-1].split(",")[history[0].split(",").index(
        "val_sparse_categorical_accuracy")])
    assert accuracy >= 0.9
    state = torch.load(workdir / "runs/digits/checkpoints/last.pt", weights_only=True)
    assert state["data"]["class_names"] == list(CLASSES)
    shown = f"lasses (label order): {', '.join(CLASSES)}"
    assert shown in cli("summary", "--ckpt", "runs/digits/checkpoints/last.pt").output
    np.save("three.npy", np.zeros((3, 1, 28, 28), dtype=np.float32))
    predicted = cli("predict", "--ckpt", "runs/digits/checkpoints/last.pt", "--input",
                    "three.npy", "--output", "p.npy")
    assert predicted.exit_code == 0 and shown in predicted.output, predicted.output


@pytest.mark.parametrize("seed", [5, 1337])
def test_labels_class_names_and_validation_files_equal_keras(workdir, seed):
    from keras.src.utils import dataset_utils
    from keras.src.utils.image_dataset_utils import ALLOWLIST_FORMATS, _load_image_grain

    mnist_folder(workdir / "digits", per_class=30)
    (workdir / "digits/seven/nested").mkdir()  # Keras walks sub-folders of a class too
    (workdir / "digits/seven/7_0001.png").rename(workdir / "digits/seven/nested/a.png")
    (workdir / "digits/notes.txt").write_text("not an image")
    files, labels, names = dataset_utils.index_directory(
        "digits", "inferred", formats=ALLOWLIST_FORMATS, shuffle=True, seed=seed)
    for subset in ("training", "validation"):
        spec = SplitSpec(source="image_folder", path="digits", validation_split=0.3,
                         subset=subset, seed=seed)
        ours = index_folder(spec, "data.train")
        want_files, want_labels = dataset_utils.get_training_or_validation_split(
            files, labels, 0.3, subset)
        assert ours.files == want_files
        assert ours.labels.tolist() == list(want_labels)
        assert ours.class_names == names == list(CLASSES)
    # Explicit class order (a subset of the sub-folders), as Keras's class_names.
    spec = SplitSpec(source="image_folder", path="digits", class_names=["zero", "one"], seed=seed)
    files, labels, names = dataset_utils.index_directory(
        "digits", "inferred", formats=ALLOWLIST_FORMATS, class_names=["zero", "one"],
        shuffle=True, seed=seed)
    ours = index_folder(spec, "data.train")
    assert (ours.files, ours.labels.tolist(), ours.class_names) == (files, list(labels), names)
    # Pixels: Keras's own loader (Pillow, then keras.ops.image.resize), resized and cropped.
    for path in files[:3]:
        for size, channels, crop in (((20, 24), 3, True), ((28, 28), 1, False),
                                     ((14, 14), 1, False)):
            want = _load_image_grain(path, size, channels, "bilinear", "channels_first",
                                     crop_to_aspect_ratio=crop)
            got = decode_image(path, ImageFormat(*size, channels, "bilinear", crop))
            np.testing.assert_array_equal(got, np.asarray(want.cpu()))


def test_kill_during_a_streamed_augmented_run_resumes_bit_identical(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    for folder in (reference, killed):
        folder.mkdir()
        mnist_folder(folder / "digits", per_class=40)
        # 96 training images of 3 KiB: a 32 KiB budget streams them in windows of a few rows.
        config = _config(name="resume", epochs=2, augment=AUGMENT, callbacks=", callbacks: "
                         "[killer.py:KillAt]").replace("data:\n", "data:\n  memory_budget: 32KiB\n")
        _write_files(folder, config)
    _fit_in_process(reference)
    result = _trainer(killed, kill="step:7")
    assert result.returncode == -signal.SIGKILL, result.stderr
    result = _trainer(killed)
    assert result.returncode == 0, result.stderr
    assert_same_run(killed / "runs/resume", reference / "runs/resume")


def test_csv_labels_and_label_modes(workdir):
    from trainer.engine.data.sources.image_folder import load_image_folder
    from trainer.engine.errors import DataError

    mnist_folder(workdir / "digits", per_class=4)
    rows = ["file,label", "one/1_0000.png,odd", "zero/0_0001.png,even", "seven/7_0002.png,odd"]
    (workdir / "labels.csv").write_text("\n".join(rows) + "\n")
    common = dict(source="image_folder", path="digits", image_size=[28, 28],
                  color_mode="grayscale", labels="labels.csv")
    index = index_folder(SplitSpec(**common), "data.train")
    assert index.files == ["digits/one/1_0000.png", "digits/zero/0_0001.png",
                           "digits/seven/7_0002.png"]
    assert index.labels.tolist() == [1, 0, 1] and index.class_names == ["even", "odd"]

    def labels(**extra):
        split = load_image_folder(SplitSpec(**common, **extra), "data.train", ["image"],
                                  ["label"], 2**30)
        assert split.x["image"].shape == (3, 1, 28, 28) and split.class_names == ["even", "odd"]
        return split.y["label"]

    assert labels().tolist() == [1, 0, 1]
    assert labels(label_mode="binary").tolist() == [[1.0], [0.0], [1.0]]
    np.testing.assert_array_equal(labels(label_mode="categorical"),
                                  [[0, 1], [1, 0], [0, 1]])
    with pytest.raises(DataError, match="exactly 2 classes"):
        load_image_folder(SplitSpec(**{**common, "labels": None}, label_mode="binary"),
                          "data.train", ["image"], ["label"], 2**30)


def test_a_folder_above_the_budget_streams_the_same_images(workdir):
    from trainer.engine.data import StreamBatches, make_batches
    from trainer.engine.data.sources.image_folder import load_image_folder

    mnist_folder(workdir / "digits", per_class=20)
    spec = SplitSpec(source="image_folder", path="digits", image_size=[14, 14],
                     color_mode="grayscale", workers=2)
    staged = load_image_folder(spec, "data.train", ["image"], ["label"], 2**30)
    streamed = load_image_folder(spec, "data.train", ["image"], ["label"], 16 * 2**10)
    cpu = torch.device("cpu")
    batches = make_batches(streamed, 8, cpu, shuffle=True, seed=3)
    assert isinstance(batches, StreamBatches)
    epoch = list(batches.epoch(1))
    x = torch.cat([b.x for b in epoch])
    y = torch.cat([b.y for b in epoch])
    assert sorted(y.tolist()) == sorted(staged.y["label"].tolist())
    # every streamed image is the staged image of the same label, in an order fixed by the seed
    staged_x = torch.from_numpy(staged.x["image"])
    matches = (x[:, None] == staged_x[None]).flatten(2).all(-1)
    assert (matches.sum(1) >= 1).all()
    assert torch.equal(torch.cat([b.x for b in batches.epoch(1, start_step=3)]), x[24:])


def test_class_weight_weighs_streamed_and_staged_images_alike(workdir):
    from trainer.engine.config import resolve_experiment
    from trainer.engine.data import StreamBatches, load_data, make_batches

    mnist_folder(workdir / "digits", per_class=10)
    table = torch.tensor([3.0, 1.0, 0.5])  # one, seven, zero
    for budget, kind in (("8KiB", StreamBatches), ("1GiB", None)):
        cfg = resolve_experiment({
            "name": "weights", "data": {"memory_budget": budget, "train": {
                "source": "image_folder", "path": "digits", "image_size": [28, 28],
                "color_mode": "grayscale"}},
            "model": {"inputs": {"image": [1, 28, 28]}, "layers": [{"type": "Flatten"}]},
            "fit": {"class_weight": {0: 3.0, 2: 0.5}}}, {}).config
        data = load_data(cfg.data, cfg.fit, ["image"], ["label"], output_units=3)
        batches = make_batches(data.train, 8, torch.device("cpu"), shuffle=True)
        assert kind is None or isinstance(batches, kind)
        epoch = list(batches.epoch(0))
        labels = torch.cat([b.y for b in epoch])
        assert sorted(labels.tolist()) == [0] * 10 + [1] * 10 + [2] * 10
        assert torch.equal(torch.cat([b.sample_weight for b in epoch]), table[labels])
