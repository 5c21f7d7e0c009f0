"""The built-in recipes and their shipped configs: linear regression reproduces the TensorFlow
guide's gradient descent, the reconstructing regressor logs both loss parts, and the GAN logs
finite losses, writes PNG sample grids and resumes bit-identically after kill -9."""
from __future__ import annotations

import math
import struct
import zlib

import h5py
import numpy as np
import torch

from conftest import CONFIGS, read_json, sets

from trainer.engine.data.sources.synthetic import generate


def history_of(run_dir) -> dict[str, list[float]]:
    return read_json(run_dir / "history.json")["history"]


# --- linear regression (TensorFlow "Basic training loops") ----------------------------------

def guide_gradient_descent(x: np.ndarray, y: np.ndarray, epochs: int, lr: float = 0.1):
    """The guide's loop in float64: per epoch the loss before the update, then W and b after it."""
    w, b, rows = 5.0, 0.0, []
    for _ in range(epochs):
        error = y - (w * x + b)
        loss = np.mean(error ** 2)
        w -= lr * np.mean(-2 * x * error)
        b -= lr * np.mean(-2 * error)
        rows.append((loss, w, b))
    return rows


def test_linear_regression_follows_the_guides_trajectory(cli, workdir):
    result = cli("fit", CONFIGS / "linear_regression.yaml", *sets("data.train.seed=0"))
    assert result.exit_code == 0, result.output
    history = history_of(workdir / "runs" / "linear_regression")
    data = generate("linear", 201, None, None, 1.0, 0, ["x"], ["y"])
    x, y = data.x["x"][:, 0].astype(np.float64), data.y["y"][:, 0].astype(np.float64)
    expected = guide_gradient_descent(x, y, 10)
    for name, column in (("loss", 0), ("W", 1), ("b", 2)):
        np.testing.assert_allclose(history[name], [row[column] for row in expected], rtol=1e-4)
    # The guide's shape: loss falls every epoch from about 9-10 towards 1; W and b move from
    # (5, 0) towards (3, 2) and are near (3.1, 1.7) after 10 epochs.
    loss = history["loss"]
    assert 8.0 < loss[0] < 12.0 and loss[-1] < 1.5
    assert all(later < earlier for earlier, later in zip(loss, loss[1:]))
    assert 3.0 < history["W"][-1] < 3.4 and 1.5 < history["b"][-1] < 1.95


def test_linear_regression_recovers_w3_b2_when_trained_longer(cli, workdir):
    result = cli("fit", CONFIGS / "linear_regression.yaml",
                 *sets("data.train.samples=5000", "fit.batch_size=5000", "fit.epochs=60"))
    assert result.exit_code == 0, result.output
    history = history_of(workdir / "runs" / "linear_regression")
    assert abs(history["W"][-1] - 3.0) < 0.1 and abs(history["b"][-1] - 2.0) < 0.1


# --- reconstructing regressor (Hands-on ML ch. 12) ------------------------------------------

def test_reconstructing_regressor_logs_both_loss_parts(cli, workdir):
    result = cli("fit", CONFIGS / "reconstructing_regressor.yaml",
                 *sets("data.train.samples=640", "fit.epochs=3"))
    assert result.exit_code == 0, result.output
    history = history_of(workdir / "runs" / "reconstructing_regressor")
    parts = ("loss", "output_loss", "reconstruction_loss")
    assert set(history) == {*parts, *(f"val_{p}" for p in parts), "lr", "seconds"}
    assert all(math.isfinite(v) for p in parts for v in history[p] + history[f"val_{p}"])
    # loss is what the step minimises: the main loss plus 0.05 x the reconstruction loss.
    for prefix in ("", "val_"):
        total = np.array(history[f"{prefix}loss"])
        main = np.array(history[f"{prefix}output_loss"])
        reconstruction = np.array(history[f"{prefix}reconstruction_loss"])
        np.testing.assert_allclose(total, main + 0.05 * reconstruction, rtol=1e-5)
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert history["reconstruction_loss"][-1] < history["reconstruction_loss"][0]


def test_reconstructing_regressor_trains_on_file_data_with_targets_for_the_main_output(cli, workdir):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8)).astype("float32")
    np.savez(workdir / "housing.npz", x=x, y=x[:, :1] * 2 + 1)
    split = "data.train={source: npz, path: housing.npz, x: x, y: y}"
    result = cli("fit", CONFIGS / "reconstructing_regressor.yaml", *sets(split, "fit.epochs=2"))
    assert result.exit_code == 0, result.output
    history = history_of(workdir / "runs" / "reconstructing_regressor")
    assert {"output_loss", "reconstruction_loss", "val_output_loss"} <= set(history)
    # The reconstruction's target is the input: the data names no key for it.
    both = "data.train.y={output: y, reconstruction: x}"
    result = cli("fit", CONFIGS / "reconstructing_regressor.yaml", *sets(split, both))
    assert result.exit_code == 2 and "'reconstruction' is not a model output that takes targets from the data; those are output" in result.output


# --- GAN (Keras "Customizing what happens in fit()") ----------------------------------------

# The shipped config, shrunk for a CPU test: 192 images, 6 steps an epoch, 8-filter convs.
SMALL_GAN = ["data.train.limit=192", "fit.batch_size=32", "fit.epochs=2",
             "models.discriminator.layers[0].filters=8", "models.discriminator.layers[2].filters=8",
             "models.generator.layers[0].units=392", "models.generator.layers[2].target_shape=[8, 7, 7]",
             "models.generator.layers[3].filters=8", "models.generator.layers[5].filters=8"]


def read_png(path) -> np.ndarray:
    """Decode an 8-bit grayscale, non-interlaced PNG whose rows all use filter 0."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = {}, 8
    while offset < len(data):
        length, tag = struct.unpack(">I4s", data[offset: offset + 8])
        body = data[offset + 8: offset + 8 + length]
        crc, = struct.unpack(">I", data[offset + 8 + length: offset + 12 + length])
        assert zlib.crc32(tag + body) == crc
        chunks[tag] = chunks.get(tag, b"") + body
        offset += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color, interlace) == (8, 0, 0) and b"IEND" in chunks
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, width + 1)
    assert not rows[:, 0].any()
    return rows[:, 1:]


def test_gan_logs_finite_losses_and_writes_a_digit_grid_each_epoch(cli, workdir):
    result = cli("fit", CONFIGS / "gan_mnist.yaml", *sets(*SMALL_GAN))
    assert result.exit_code == 0, result.output
    run = workdir / "runs" / "gan_mnist"
    history = history_of(run)
    assert set(history) == {"d_loss", "g_loss", "lr", "seconds"}
    assert all(math.isfinite(v) for v in history["d_loss"] + history["g_loss"])
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    grid = read_png(run / "samples" / "epoch_002.png")
    assert grid.shape == (4 * 28 + 3 * 2, 4 * 28 + 3 * 2)          # 16 digits, 2-pixel gaps
    tiles = [grid[r * 30: r * 30 + 28, c * 30: c * 30 + 28] for r in range(4) for c in range(4)]
    assert not grid[28:30].any() and not grid[:, 28:30].any()
    assert len({tile.tobytes() for tile in tiles}) == 16            # 16 different samples
    assert not np.array_equal(grid, read_png(run / "samples" / "epoch_001.png"))


KILL_SWITCH = '''
import os, signal
from trainer.engine.callbacks import Callback


class KillSwitch(Callback):
    """kill -9 this process after global step $KILL_AT_STEP (no clean shutdown at all)."""

    def on_train_batch_end(self, batch, logs=None):
        if self.loop.progress.global_step == int(os.environ.get("KILL_AT_STEP", "-1")):
            os.kill(os.getpid(), signal.SIGKILL)
'''


def weights(path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path) as handle:
        handle.visititems(lambda name, item: out.__setitem__(name, item[()])
                          if isinstance(item, h5py.Dataset) else None)
    return out


def flat_tensors(value, prefix="") -> dict[str, torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, (list, tuple)) else ()
    return {k: v for key, item in items for k, v in flat_tensors(item, f"{prefix}/{key}").items()}


def test_gan_resumes_bit_identically_after_kill_9(trainer_process, workdir):
    (workdir / "kill_switch.py").write_text(KILL_SWITCH)
    args = ["fit", CONFIGS / "gan_mnist.yaml", "--quiet",
            *sets(*SMALL_GAN, "fit.checkpoint_every=2", "fit.callbacks=[{type: kill_switch.py:KillSwitch}]")]
    reference = trainer_process(*args, "--run-dir", "runs/reference")
    assert reference.exit_code == 0, reference.output
    killed = trainer_process(*args, "--run-dir", "runs/resumed", env={"KILL_AT_STEP": "9"})
    assert killed.exit_code == -9, killed.output          # mid-epoch 2; last.pt is from step 8
    assert read_json(workdir / "runs/resumed/status.json")["state"] == "running"
    resumed = trainer_process(*args, "--run-dir", "runs/resumed")
    assert resumed.exit_code == 0, resumed.output

    a, b = workdir / "runs/reference", workdir / "runs/resumed"
    assert history_of(a)["d_loss"] == history_of(b)["d_loss"]
    assert history_of(a)["g_loss"] == history_of(b)["g_loss"]
    wa, wb = weights(a / "model.weights.h5"), weights(b / "model.weights.h5")
    assert wa.keys() == wb.keys() and len(wa) > 10
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    # Both optimizers' moments, both models and the recipe's latent RNG are the same state.
    sa = torch.load(a / "checkpoints/last.pt", weights_only=True)
    sb = torch.load(b / "checkpoints/last.pt", weights_only=True)
    assert set(sa["optimizers"]) == {"discriminator", "generator"}
    for part in ("models", "optimizers", "recipe", "metrics"):
        ta, tb = flat_tensors(sa[part]), flat_tensors(sb[part])
        assert ta and ta.keys() == tb.keys(), part
        assert all(torch.equal(ta[k], tb[k]) for k in ta), part
