"""`source: image_folder`: a folder of images (Keras's `image_dataset_from_directory`) decoded
by background worker threads (Pillow and torch release the GIL while they decode and resize).
A folder within `data.memory_budget` is decoded once, before training (a bad file stops the run
with exit 2 naming it, or is skipped with `skip_bad_files`); a larger one streams, each window
of rows decoded while the previous one trains, like an HDF5 file larger than the budget."""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ...errors import ConfigError, DataError
from ..arrays import ArraySplit
from ..notes import LOGGER
from .hdf5_stream import StreamSplit
from .image_decode import CHANNELS, ImageFormat, decode_image
from .image_index import ImageIndex, index_folder

DEFAULT_IMAGE_SIZE = (256, 256)  # Keras's default


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def load_image_folder(spec: Any, key_path: str, input_names: list[str], output_names: list[str],
                      budget: int) -> ArraySplit | "ImageStreamSplit":
    if len(input_names) != 1 or len(output_names) > 1:
        raise ConfigError("source image_folder feeds a model with one input and at most one "
                          "output", f"{key_path}.source")
    fmt = image_format(spec, key_path)
    index = index_folder(spec, key_path)
    label_mode = spec.label_mode or "int"
    if label_mode == "binary" and len(index.class_names or ()) != 2:
        raise DataError(f"label_mode: binary needs exactly 2 classes; found "
                        f"{len(index.class_names or ())}", spec.path)
    workers = spec.workers or default_workers()
    if spec.limit:
        index = ImageIndex(index.files[: spec.limit], index.labels[: spec.limit], index.class_names)
    row_bytes = int(np.prod(fmt.shape)) * 4 + 8
    staged = row_bytes * len(index.files) <= budget
    if not staged or spec.skip_bad_files:
        index = _readable(index, spec.path, workers, spec.skip_bad_files)
    split = ImageStreamSplit(
        spec.path, {input_names[0]: "images"}, {output_names[0]: "labels"} if output_names else None,
        None, 0, len(index.files), budget, row_bytes, 1, files=index.files,
        labels=_encode_labels(index, label_mode), fmt=fmt, workers=workers,
        class_names=index.class_names)
    if not staged:
        return split
    with split.open() as pool:
        return split.read(pool, [(0, len(split))], transform=False)


def image_format(spec: Any, key_path: str) -> ImageFormat:
    size = spec.image_size or DEFAULT_IMAGE_SIZE
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ConfigError(f"image_size must be [height, width], got {list(size)}",
                          f"{key_path}.image_size")
    return ImageFormat(size[0], size[1], CHANNELS[spec.color_mode or "rgb"],
                       spec.interpolation or "bilinear", bool(spec.crop_to_aspect_ratio))


def _encode_labels(index: ImageIndex, label_mode: str) -> np.ndarray:
    """Keras's label modes: int -> int64 [N], categorical -> one-hot float32 [N, classes],
    binary -> float32 [N, 1]."""
    labels = index.labels
    if label_mode == "categorical":
        return np.eye(len(index.class_names), dtype=np.float32)[labels]
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    return labels


def _readable(index: ImageIndex, folder: str, workers: int, skip: bool) -> ImageIndex:
    """Open and verify every file before training (the streamed case decodes while training,
    so a bad file must be found now); with `skip`, drop bad files and log how many."""
    with ThreadPoolExecutor(workers) as pool:
        problems = list(pool.map(_problem, index.files))
    bad = [i for i, problem in enumerate(problems) if problem]
    if bad and not skip:
        raise DataError(f"unreadable image file ({problems[bad[0]]}); fix or remove it, or set "
                        f"skip_bad_files: true", index.files[bad[0]])
    if not bad:
        return index
    LOGGER.warning("%s: skipped %d unreadable image file(s) of %d (skip_bad_files), e.g. %s",
                folder, len(bad), len(index.files), index.files[bad[0]])
    keep = np.setdiff1d(np.arange(len(index.files)), bad)
    return ImageIndex([index.files[i] for i in keep], index.labels[keep], index.class_names)


def _problem(path: str) -> str | None:
    from PIL import Image
    try:
        with Image.open(path) as image:
            image.load()  # verify() misses truncated JPEGs; a full load does not
        return None
    except Exception as exc:  # noqa: BLE001 (Pillow raises many kinds for a bad file)
        return f"{type(exc).__name__}: {exc}"


@dataclass
class ImageStreamSplit(StreamSplit):
    """An image folder's split read file by file; `open()` gives the pool of decoding
    workers and `read` decodes the requested rows (the StreamSplit interface StreamBatches
    and the checks use)."""
    files: list[str] = field(default_factory=list, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    fmt: ImageFormat | None = None
    workers: int = 1
    class_names: list[str] | None = None

    @contextlib.contextmanager
    def open(self) -> Iterator[ThreadPoolExecutor]:
        with ThreadPoolExecutor(self.workers) as pool:
            yield pool

    def read(self, handle: ThreadPoolExecutor, ranges: list[tuple[int, int]],
             transform: bool = True) -> ArraySplit:
        rows = np.concatenate([np.arange(self.start + a, self.start + b) for a, b in ranges]
                              or [np.zeros(0, dtype=np.int64)])
        images = np.empty((len(rows), *self.fmt.shape), dtype=np.float32)
        # Several rows per task: one task per image would cost more in hand-offs than it decodes.
        per_task = max(1, len(rows) // (4 * self.workers))
        tasks = [rows[i: i + per_task] for i in range(0, len(rows), per_task)]
        offsets = range(0, len(rows), per_task)
        for _ in handle.map(lambda task, at: self._decode_into(images, task, at), tasks, offsets):
            pass
        name = next(iter(self.x_keys))
        y = None if self.y_keys is None else {next(iter(self.y_keys)): self.labels[rows]}
        raw = ArraySplit({name: images}, y, None, self.path, self.keys, self.class_names)
        return self.finished(raw, transform)

    def _decode_into(self, out: np.ndarray, rows: np.ndarray, at: int) -> None:
        for offset, row in enumerate(rows):
            path = self.files[row]
            try:
                out[at + offset] = decode_image(path, self.fmt)
            except Exception as exc:  # noqa: BLE001 (Pillow raises many kinds for a bad file)
                raise DataError(f"unreadable image file ({type(exc).__name__}: {exc}); fix or "
                                f"remove it, or set skip_bad_files: true", path) from None

    def preview(self, rows: int = 64) -> ArraySplit:
        """The first rows, decoded and transformed (what the pre-training checks look at)."""
        with self.open() as pool:
            return self.read(pool, [(0, min(rows, len(self)))])

    @property
    def y(self) -> dict[str, np.ndarray] | None:
        if self.y_keys is None:
            return None
        return self.transformed_targets({next(iter(self.y_keys)): self.labels[self.start: self.stop]})
