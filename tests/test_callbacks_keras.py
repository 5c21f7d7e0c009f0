"""Built-in callbacks against Keras 3's own, fed the same scripted metric sequences: the
epoch EarlyStopping stops at and the weights it restores, ReduceLROnPlateau's and
LearningRateScheduler's learning rates, the epochs ModelCheckpoint(save_best_only) saves,
the batch TerminateOnNaN stops at."""
from __future__ import annotations

import os
import random

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from trainer.engine.callbacks import build_callbacks  # noqa: E402
from trainer.engine.errors import ConfigError  # noqa: E402
from trainer.engine.callbacks.context import TrainingContext  # noqa: E402

from doubles import StubContext  # noqa: E402

LR = 0.01


def test_the_stub_satisfies_the_callback_context():
    assert isinstance(StubContext(), TrainingContext)


def ours(name: str, loop: StubContext, **args):
    callback = build_callbacks([{"type": name, **args}])[0]
    callback.set_loop(loop)
    return callback


def keras_model() -> keras.Model:
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(LR), loss="mse")
    return model


def keras_callback(name: str, model: keras.Model, **args):
    callback = getattr(keras.callbacks, name)(**args)
    callback.set_model(model)
    return callback


def random_walks(n: int, length: int = 14, seed: int = 3) -> list[list[float]]:
    """Plateauing sequences with small and large steps around the min_delta scale."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        value, seq = 1.0, []
        for _ in range(length):
            value += rng.choice([-0.05, -0.02, -0.013, -0.007, -0.003, 0.0, 0.004, 0.02])
            seq.append(round(value, 4))
        out.append(seq)
    return out


SCRIPTED = [0.9, 0.8, 0.795, 0.79, 0.785, 0.7, 0.69, 0.695, 0.7, 0.71, 0.72, 0.6]

EARLY_STOPPING_CASES = [
    dict(monitor="val_loss", min_delta=0.01, patience=2),
    dict(monitor="val_loss", min_delta=0.01, patience=2, restore_best_weights=True),
    dict(monitor="val_loss", patience=0, restore_best_weights=True),
    dict(monitor="val_loss", min_delta=0.005, patience=3, baseline=0.75),
    dict(monitor="val_loss", min_delta=0.01, patience=1, start_from_epoch=3,
         restore_best_weights=True),
    dict(monitor="val_accuracy", mode="max", min_delta=0.01, patience=2, restore_best_weights=True),
]


def run_early_stopping(sequence: list[float], args: dict) -> tuple[tuple, tuple]:
    monitor = args["monitor"]
    values = [1 - v for v in sequence] if monitor == "val_accuracy" else sequence
    model = keras_model()
    theirs = keras_callback("EarlyStopping", model, **args)
    loop = StubContext()
    mine = ours("EarlyStopping", loop, **args)
    theirs.on_train_begin()
    mine.on_train_begin()
    keras_stop = our_stop = None
    for epoch, value in enumerate(values):
        # Each epoch's weights are recognisable: every parameter equals the epoch number.
        if keras_stop is None:
            model.set_weights([np.full(w.shape, epoch, "float32") for w in model.get_weights()])
            theirs.on_epoch_end(epoch, {monitor: value})
            keras_stop = epoch if model.stop_training else None
        if our_stop is None:
            with torch.no_grad():
                for p in loop.model.parameters():
                    p.fill_(epoch)
            mine.on_epoch_end(epoch, {monitor: value})
            our_stop = epoch if loop.stopped else None
    theirs.on_train_end()
    mine.on_train_end()
    keras_weights = model.get_weights()[0].item()
    our_weights = loop.model.weight.item()
    return (keras_stop, keras_weights), (our_stop, our_weights)


@pytest.mark.parametrize("args", EARLY_STOPPING_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()))
def test_early_stopping_stops_and_restores_like_keras(args):
    stops = set()
    for sequence in [SCRIPTED, *random_walks(25)]:
        keras_result, our_result = run_early_stopping(sequence, args)
        assert our_result == keras_result, (sequence, args)
        stops.add(keras_result[0])
    assert len(stops) > 2  # the sequences exercise different stopping epochs


def test_early_stopping_min_delta_patience_2_scripted():
    (keras_stop, keras_weights), (our_stop, our_weights) = run_early_stopping(
        SCRIPTED, dict(monitor="val_loss", min_delta=0.01, patience=2, restore_best_weights=True))
    # 0.9, 0.8 improve; 0.795 and 0.79 are within min_delta: the second such epoch stops.
    assert our_stop == keras_stop == 3
    assert our_weights == keras_weights == 1.0  # the weights of epoch 2 (index 1): val_loss 0.8


RLROP_CASES = [
    dict(monitor="val_loss", factor=0.5, patience=2),
    dict(monitor="val_loss", factor=0.5, patience=1, cooldown=2, min_delta=0.01),
    dict(monitor="val_loss", factor=0.2, patience=0, min_lr=0.0009),
    dict(monitor="val_accuracy", mode="max", factor=0.5, patience=1, cooldown=1, min_delta=0.005),
]


@pytest.mark.parametrize("args", RLROP_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()))
def test_reduce_lr_on_plateau_matches_keras(args):
    monitor = args["monitor"]
    changed = False
    for sequence in [SCRIPTED, *random_walks(10, length=20, seed=5)]:
        values = [1 - v for v in sequence] if monitor == "val_accuracy" else sequence
        model = keras_model()
        theirs = keras_callback("ReduceLROnPlateau", model, **args)
        loop = StubContext()
        mine = ours("ReduceLROnPlateau", loop, **args)
        theirs.on_train_begin()
        mine.on_train_begin()
        for epoch, value in enumerate(values):
            theirs.on_epoch_end(epoch, {monitor: value})
            mine.on_epoch_end(epoch, {monitor: value})
            keras_lr = float(model.optimizer.learning_rate.numpy())
            assert loop.lr == pytest.approx(keras_lr, rel=1e-6), (sequence, epoch)
        changed |= loop.lr < LR
    assert changed


def test_learning_rate_scheduler_matches_keras(tmp_path):
    (tmp_path / "schedules.py").write_text(
        "import math\n"
        "def decay_after_2(epoch, lr):\n"
        "    return lr if epoch < 2 else lr * math.exp(-0.1)\n"
        "def by_epoch(epoch):\n"
        "    return 0.1 / (1 + epoch)\n")
    for function in ("decay_after_2", "by_epoch"):
        namespace: dict = {}
        exec((tmp_path / "schedules.py").read_text(), namespace)
        model = keras_model()
        theirs = keras_callback("LearningRateScheduler", model, schedule=namespace[function])
        loop = StubContext()
        mine = ours("LearningRateScheduler", loop, schedule=f"{tmp_path}/schedules.py:{function}")
        for epoch in range(6):
            theirs.on_epoch_begin(epoch)
            mine.on_epoch_begin(epoch)
            keras_lr = float(model.optimizer.learning_rate.numpy())
            assert loop.lr == pytest.approx(keras_lr, rel=1e-6), (function, epoch)
        assert loop.lr != LR


def test_learning_rate_scheduler_is_not_applied_twice_in_a_resumed_epoch(tmp_path):
    (tmp_path / "s.py").write_text("def halve(epoch, lr):\n    return lr / 2\n")
    loop = StubContext()
    mine = ours("LearningRateScheduler", loop, schedule=f"{tmp_path}/s.py:halve")
    mine.on_epoch_begin(0)
    state = mine.state_dict()
    resumed = ours("LearningRateScheduler", loop, schedule=f"{tmp_path}/s.py:halve")
    resumed.load_state_dict(state)
    resumed.on_epoch_begin(0)  # the same epoch again, after a mid-epoch resume
    assert loop.lr == LR / 2


@pytest.mark.parametrize("mode_args", [dict(monitor="val_loss"),
                                       dict(monitor="val_accuracy", mode="max"),
                                       dict(monitor="val_loss", initial_value_threshold=0.8)])
def test_model_checkpoint_save_best_only_saves_the_epochs_keras_saves(tmp_path, mode_args):
    monitor = mode_args["monitor"]
    saved_any = False
    for i, sequence in enumerate([SCRIPTED, *random_walks(5, seed=9)]):
        values = [1 - v for v in sequence] if monitor == "val_accuracy" else sequence
        keras_dir, our_dir = tmp_path / f"keras{i}", tmp_path / f"ours{i}"
        keras_dir.mkdir()
        our_dir.mkdir()
        model = keras_model()
        theirs = keras_callback("ModelCheckpoint", model, save_best_only=True,
                                save_weights_only=True,
                                filepath=str(keras_dir / "{epoch:02d}.weights.h5"), **mode_args)
        loop = StubContext(our_dir)
        mine = ours("ModelCheckpoint", loop, save_best_only=True,
                    filepath="{epoch:02d}.pt", **mode_args)
        for epoch, value in enumerate(values):
            theirs.on_epoch_end(epoch, {monitor: value})
            mine.on_epoch_end(epoch, {monitor: value})
        keras_saved = sorted(p.name.split(".")[0] for p in keras_dir.iterdir())
        our_saved = sorted(p.name.split(".")[0] for p in our_dir.iterdir())
        assert our_saved == keras_saved
        saved_any |= bool(our_saved)
    assert saved_any


def test_terminate_on_nan_stops_at_the_batch_keras_stops_at():
    losses = [1.0, 0.5, float("nan"), 0.3]
    model = keras_model()
    theirs = keras_callback("TerminateOnNaN", model)
    loop = StubContext()
    mine = ours("TerminateOnNaN", loop)
    keras_stop = our_stop = None
    for batch, loss in enumerate(losses):
        theirs.on_train_batch_end(batch, {"loss": loss})
        mine.on_train_batch_end(batch, {"loss": torch.tensor(loss)})
        keras_stop = batch if model.stop_training and keras_stop is None else keras_stop
        our_stop = batch if loop.stopped and our_stop is None else our_stop
    assert our_stop == keras_stop == 2
    assert "invalid loss nan" in loop.diverged_at


def test_mode_auto_with_an_unknown_direction_is_a_config_error():
    with pytest.raises(ConfigError, match="mode: min or mode: max") as error:
        ours("EarlyStopping", StubContext(), monitor="val_f1")
    assert error.value.key_path == "fit.callbacks[0].monitor"
