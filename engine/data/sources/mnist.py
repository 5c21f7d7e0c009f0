"""The MNIST data set shipped with trainer (LeCun, Cortes, Burges; CC BY-SA 3.0), read from
gzipped IDX files whose sha256 is checked on load."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from ...errors import DataError
from .idx import parse_idx
from .unreadable import UNREADABLE, reason

MNIST_DIR = Path(__file__).parent / "mnist_idx"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SHA256 = {  # of the decompressed files
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def load_mnist(split: str, directory: Path = MNIST_DIR) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels int64 [N])."""
    images_file, labels_file = FILES[split]
    return _read(directory / images_file), _read(directory / labels_file).astype(np.int64)


def _read(path: Path) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise DataError("MNIST file is missing (reinstall trainer or restore it from git)",
                        str(path)) from None
    except UNREADABLE as exc:
        raise DataError(f"MNIST file is corrupted: {reason(exc)}", str(path)) from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256[path.name]:
        raise DataError(f"MNIST file is corrupted: sha256 {digest[:12]}... expected "
                        f"{SHA256[path.name][:12]}...", str(path))
    return parse_idx(raw, str(path))
