"""Test doubles: a TrainingContext without a fit loop, for driving callbacks directly."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from trainer.engine.errors import ConfigError
from trainer.engine.loop.progress import TrainingProgress
from trainer.engine.optim.base import TrainOptimizer


class StubContext:
    """One Linear(1, 1) model with an SGD optimizer; records stops, divergence and saves."""

    def __init__(self, run_dir: Path | None = None, lr: float = 0.01):
        self.model = torch.nn.Linear(1, 1)
        optimizer = TrainOptimizer(torch.optim.SGD(self.model.parameters(), lr=lr), None)
        self.recipe = SimpleNamespace(models={"model": self.model},
                                      optimizers={"optimizer": optimizer})
        self.main_model = "model"
        self.run_dir = SimpleNamespace(path=run_dir, checkpoints=run_dir)
        self.is_main = True
        self.progress = TrainingProgress()
        self.epochs = 100
        self.steps_per_epoch = 1
        self.diverged_at: str | None = None
        self.saved: list[Path] = []

    @property
    def lr(self) -> float:
        return self.recipe.optimizers["optimizer"].lr

    @property
    def stopped(self) -> bool:
        return self.progress.stop_requested

    def save_checkpoint(self, path: Path, weights_only: bool = False) -> None:
        Path(path).touch()
        self.saved.append(Path(path))

    def request_stop(self) -> None:
        self.progress.stop_requested = True

    def diverged(self, message: str) -> None:
        self.diverged_at = message
        self.progress.stop_requested = True

    def warn(self, message: str) -> None:
        pass

    note = warn

    def metric_direction(self, name: str) -> str | None:
        base = name.removeprefix("val_")
        return "down" if base == "loss" else "up" if base == "accuracy" else None

    def config_error(self, message: str, key_path: str) -> ConfigError:
        return ConfigError(message, key_path)
