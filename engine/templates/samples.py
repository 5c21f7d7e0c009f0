"""Sample data some templates train on as written: the image-folder template's digits/
folder (shipped MNIST digits saved as PNG files, one sub-folder per class)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.sources.mnist import load_mnist

SAMPLE_FOLDERS = {"image_folder": "digits"}
PER_CLASS = 30


def write_samples(template: str, beside: Path) -> list[Path]:
    """The template's sample folder next to its config (kept when it already exists)."""
    name = SAMPLE_FOLDERS.get(template)
    if name is None or (beside / name).exists():
        return []
    from PIL import Image  # the `image` extra
    images, labels = load_mnist("test")
    folder = beside / name
    for digit in range(10):
        (folder / str(digit)).mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(labels == digit)[:PER_CLASS]):
            Image.fromarray(images[index]).save(folder / str(digit) / f"{i:03d}.png")
    return [folder]
