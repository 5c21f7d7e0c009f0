"""The MNIST data set shipped with trainer (LeCun, Cortes, Burges; CC BY-SA 3.0), read from
gzipped IDX files whose sha256 is checked on load (of the compressed bytes: a fifth of the
hashing, and gzip's own CRC-32 checks the decompressed ones)."""
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
SHA256 = {  # of the gzipped files as shipped
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}


def load_mnist(split: str, directory: Path = MNIST_DIR) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels int64 [N])."""
    images_file, labels_file = FILES[split]
    return _read(directory / images_file), _read(directory / labels_file).astype(np.int64)


def _read(path: Path) -> np.ndarray:
    try:
        compressed = path.read_bytes()
    except FileNotFoundError:
        raise DataError("MNIST file is missing (reinstall trainer or restore it from git)",
                        str(path)) from None
    except UNREADABLE as exc:
        raise DataError(f"MNIST file is corrupted: {reason(exc)}", str(path)) from None
    digest = hashlib.sha256(compressed).hexdigest()
    if digest != SHA256[path.name]:
        raise DataError(f"MNIST file is corrupted: sha256 {digest[:12]}... expected "
                        f"{SHA256[path.name][:12]}...", str(path))
    try:
        raw = gzip.decompress(compressed)
    except UNREADABLE as exc:
        raise DataError(f"MNIST file is corrupted: {reason(exc)}", str(path)) from None
    return parse_idx(raw, str(path))
