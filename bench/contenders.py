"""The ways `make bench` trains the same MNIST model: trainer (eager, and with its whole train
step compiled), a hand-written PyTorch loop, Keras 3 `model.fit` (torch backend) and PyTorch
Lightning `Trainer.fit`.

Each contender trains one epoch per call to `epoch()` (so the benchmark can alternate them) and
reports test accuracy at the end. All use the same data (50,000 training images, 10,000 test),
batch size and optimizer; trainer and the plain loop also start from the same weights and see
the same data order. Keras and Lightning are bench-only extras (`pip install .[bench]`)."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainer.engine.components import build_components
from trainer.engine.config import load_experiment
from trainer.engine.data.iteration import epoch_permutation
from trainer.engine.loop.fit import FitLoop
from trainer.engine.loop.stop_policy import StopPolicy
from trainer.engine.state.rng import seed_everything
from trainer.engine.state.run_record import RunRecord
from trainer.engine.state.rundir import RunDir

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
BATCH = 64
# The training part of each config (the first 50,000 images), one epoch, no validation.
SAMPLES = 50000
COMMON = ["fit.epochs=1", "fit.validation_split=0.0", "fit.callbacks=[]", f"fit.batch_size={BATCH}"]
MODELS = {
    "mlp": {"config": "mnist.yaml", "overrides": [],
            "optimizer": ("RMSprop", 1e-3)},
    "cnn": {"config": "mnist_cnn.yaml", "overrides": [], "optimizer": ("RMSprop", 1e-3)},
}


class MnistData:
    """Train/test arrays as every contender needs them, taken from trainer's own loader."""

    def __init__(self, model: str, device: torch.device, samples: int = SAMPLES):
        self.model, self.device, self.samples = model, device, samples
        self.components = self.build()
        self.experiment = self.components.experiment
        main = self.components.models["model"]
        self.input_name, self.output_name = main.input_names[0], main.output_names[0]
        self.x_train = self.components.data.train.x[self.input_name]
        self.y_train = self.components.data.train.y[self.output_name]
        self.x_test = self.components.data.test.x[self.input_name]
        self.y_test = self.components.data.test.y[self.output_name]

    def build(self, *overrides: str):
        """trainer's components for this model (the same initial weights every time)."""
        spec = MODELS[self.model]
        experiment = load_experiment(CONFIGS / spec["config"], [
            *COMMON, f"data.train.limit={self.samples}", *spec["overrides"], *overrides])
        seed_everything(experiment.config.seed)
        return build_components(experiment, self.device, ("train", "test"))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class TrainerContender:
    """trainer's FitLoop as `trainer fit` runs it (run record written, checkpoint at epoch end);
    `overrides` are config settings such as `compile.jit_compile=step`."""

    def __init__(self, data: MnistData, name: str = "trainer", overrides: tuple[str, ...] = ()):
        self.name = name
        self.data = data
        self.components = data.build(*overrides) if overrides else data.components
        self.tmp = tempfile.TemporaryDirectory()
        self.round = 0

    def epoch(self) -> float:
        self.round += 1
        record = RunRecord(RunDir(Path(self.tmp.name) / f"r{self.round}"))
        record.create()
        loop = FitLoop(self.components, [], record, StopPolicy())
        start = time.perf_counter()
        loop.run()
        _sync(self.data.device)
        return time.perf_counter() - start

    def accuracy(self) -> float:
        from trainer.engine.data import DeviceBatches
        from trainer.engine.loop.evaluate import evaluate_batches
        model = self.components.models["model"]
        model.eval()
        logs = evaluate_batches(self.components.recipe,
                                DeviceBatches(self.components.data.test, 256, self.data.device))
        model.train()
        return logs["sparse_categorical_accuracy"]


def torch_model(data: MnistData) -> nn.Module:
    """The same network as trainer's, as a hand-written nn.Sequential with trainer's initial weights."""
    source = data.components.models["model"]
    if len(source.input_shapes[data.input_name]) == 1:
        model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                              nn.Linear(64, 10), nn.Softmax(dim=-1))
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                              nn.Linear(1600, 10), nn.Softmax(dim=-1))
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), source.parameters(), strict=True):
            mine.copy_(theirs.reshape(mine.shape))
    return model.to(data.device)


def torch_optimizer(model: nn.Module, name: str, lr: float) -> torch.optim.Optimizer:
    assert name == "RMSprop", "both bench configs use RMSprop"
    return torch.optim.RMSprop(model.parameters(), lr=lr, alpha=0.9, eps=1e-7, foreach=True)


def _nll(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(probs.clamp(1e-7, 1 - 1e-7).log(), labels)


class PlainContender:
    name = "plain"

    def __init__(self, data: MnistData, optimizer: tuple[str, float]):
        self.data = data
        self.model = torch_model(data)
        self.optimizer = torch_optimizer(self.model, *optimizer)
        self.x = torch.from_numpy(data.x_train).to(data.device)
        self.y = torch.from_numpy(data.y_train).to(data.device)

    def epoch(self) -> float:
        x, y, device = self.x, self.y, self.data.device
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        start = time.perf_counter()
        order = epoch_permutation(len(x), self.data.experiment.config.seed, 0).to(device)
        for i in range(0, len(x), BATCH):
            index = order[i: i + BATCH]
            xb, yb = x.index_select(0, index), y.index_select(0, index)
            probs = self.model(xb)
            loss = _nll(probs, yb)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += loss.detach() * len(xb)
            correct += (probs.argmax(-1) == yb).sum()
        # A plain loop reads its epoch loss and accuracy once, at the end.
        (loss_sum / len(x)).item(), (correct / len(x)).item()
        return time.perf_counter() - start

    def accuracy(self) -> float:
        return _torch_accuracy(self.model, self.data)


def _torch_accuracy(model: nn.Module, data: MnistData) -> float:
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(data.x_test).to(data.device)
        predicted = torch.cat([model(x[i: i + 1000]).argmax(-1) for i in range(0, len(x), 1000)])
        accuracy = (predicted.cpu().numpy() == data.y_test).mean()
    model.train()
    return float(accuracy)


class KerasContender:
    name = "keras"

    def __init__(self, data: MnistData, optimizer: tuple[str, float]):
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        self.data = data
        layers = keras.layers
        if data.x_train.ndim == 2:
            self.x_train, self.x_test = data.x_train, data.x_test
            self.model = keras.Sequential([keras.Input((784,)), layers.Dense(64, activation="relu"),
                                           layers.Dense(64, activation="relu"),
                                           layers.Dense(10, activation="softmax")])
        else:  # Keras on torch is channels-last
            self.x_train = np.ascontiguousarray(data.x_train.transpose(0, 2, 3, 1))
            self.x_test = np.ascontiguousarray(data.x_test.transpose(0, 2, 3, 1))
            self.model = keras.Sequential([
                keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
                layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(), layers.Flatten(),
                layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
        name, lr = optimizer
        self.model.compile(optimizer=getattr(keras.optimizers, name)(learning_rate=lr),
                           loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])

    def epoch(self) -> float:
        start = time.perf_counter()
        self.model.fit(self.x_train, self.data.y_train, batch_size=BATCH, epochs=1, verbose=0)
        return time.perf_counter() - start

    def accuracy(self) -> float:
        return float(self.model.evaluate(self.x_test, self.data.y_test, batch_size=1000,
                                         verbose=0, return_dict=True)["sparse_categorical_accuracy"])


class LightningContender:
    name = "lightning"

    def __init__(self, data: MnistData, optimizer: tuple[str, float]):
        import lightning
        from torch.utils.data import DataLoader, TensorDataset

        class Module(lightning.LightningModule):
            def __init__(self, model: nn.Module, optim: torch.optim.Optimizer):
                super().__init__()
                self.model, self.optim = model, optim

            def training_step(self, batch, batch_idx):
                x, y = batch
                return _nll(self.model(x), y)

            def configure_optimizers(self):
                return self.optim  # kept across fit() calls, like the other contenders' state

        model = torch_model(data)
        self.data = data
        self.module = Module(model, torch_optimizer(model, *optimizer))
        # What a Lightning user writes: a DataLoader over in-memory tensors.
        self.loader = DataLoader(TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)),
                                 batch_size=BATCH, shuffle=True)
        self.lightning = lightning

    def epoch(self) -> float:
        trainer = self.lightning.Trainer(
            max_epochs=1, accelerator="gpu" if self.data.device.type == "cuda" else "cpu", devices=1,
            logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False)
        start = time.perf_counter()
        trainer.fit(self.module, self.loader)
        return time.perf_counter() - start

    def accuracy(self) -> float:
        return _torch_accuracy(self.module.model, self.data)
