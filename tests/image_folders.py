"""Test fixtures: image folders written from the shipped MNIST digits (one sub-folder per
class, PNG files), optionally with a corrupt file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from trainer.engine.data.sources.mnist import load_mnist

CLASSES = ("one", "seven", "zero")  # sorted names; digits 1, 7, 0


def mnist_folder(root: Path, per_class: int = 100, corrupt: bool = False,
                 split: str = "train") -> Path:
    images, labels = load_mnist(split)
    for name, digit in zip(CLASSES, (1, 7, 0)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, index in enumerate(np.flatnonzero(labels == digit)[:per_class]):
            Image.fromarray(images[index]).save(root / name / f"{digit}_{i:04d}.png")
    if corrupt:
        good = (root / "seven" / "7_0000.png").read_bytes()
        (root / "seven" / "7_broken.png").write_bytes(good[: len(good) // 2])
    return root
