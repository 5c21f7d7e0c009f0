"""Which files an image folder holds and their labels, as Keras's `image_dataset_from_directory`
lists them: one sub-folder per class (sorted names, or `class_names` in a chosen order), or
explicit labels (a list in the sorted file order, or a CSV of file,label); the list shuffled
with `seed` and cut by `validation_split` / `subset` so training and validation never overlap."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError, DataError

FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


@dataclass
class ImageIndex:
    files: list[str]
    labels: np.ndarray | None      # int64 class indices, one per file
    class_names: list[str] | None


def index_folder(spec: Any, key_path: str) -> ImageIndex:
    folder = spec.path
    if not folder:
        raise ConfigError("source image_folder needs 'path' (a folder)", f"{key_path}.path")
    if not Path(folder).is_dir():
        raise DataError("folder not found", folder)
    labels_spec = "inferred" if spec.labels is None else spec.labels
    if isinstance(labels_spec, str) and labels_spec != "inferred":
        index = _from_csv(folder, labels_spec, spec.class_names, key_path)
    elif labels_spec == "inferred":
        index = _inferred(folder, spec.class_names, key_path)
    else:
        if spec.class_names is not None:
            raise ConfigError("class_names goes with labels: inferred (with explicit labels "
                              "the class names are the sorted labels)", f"{key_path}.class_names")
        files = [os.path.join(folder, name) for name in _files_under(folder)]
        if len(labels_spec) != len(files):
            raise ConfigError(f"{len(labels_spec)} labels given but the folder has "
                              f"{len(files)} image files", f"{key_path}.labels")
        index = ImageIndex(files, np.asarray(labels_spec, dtype=np.int64),
                           [str(label) for label in sorted(set(labels_spec))])
    if not index.files:
        raise DataError(f"no image files ({', '.join(FORMATS)}) found", folder)
    return _split(_shuffled(index, spec, key_path), spec, key_path)


def _inferred(folder: str, class_names: list[str] | None, key_path: str) -> ImageIndex:
    subdirs = [d for d in sorted(os.listdir(folder))
               if os.path.isdir(os.path.join(folder, d)) and not d.startswith(".")]
    if class_names is not None:
        missing = sorted(set(class_names) - set(subdirs))
        if missing:
            raise ConfigError(f"class_names {missing} are not sub-folders of {folder} "
                              f"(sub-folders: {', '.join(subdirs) or 'none'})",
                              f"{key_path}.class_names")
        subdirs = list(class_names)
    if not subdirs:
        raise DataError("labels: inferred needs one sub-folder per class; the folder has "
                        "none (or give labels: a CSV of file,label)", folder)
    files: list[str] = []
    labels: list[int] = []
    for label, subdir in enumerate(subdirs):
        names = _files_under(os.path.join(folder, subdir))
        files += [os.path.join(folder, subdir, name) for name in names]
        labels += [label] * len(names)
    return ImageIndex(files, np.asarray(labels, dtype=np.int64), subdirs)


def _files_under(directory: str) -> list[str]:
    """Image files below `directory`, relative to it, in Keras's (sorted os.walk) order."""
    found = []
    for root, _, names in sorted(os.walk(directory), key=lambda entry: entry[0]):
        for name in sorted(names):
            if name.lower().endswith(FORMATS):
                found.append(os.path.relpath(os.path.join(root, name), directory))
    return found


def _from_csv(folder: str, table: str, class_names: list[str] | None, key_path: str) -> ImageIndex:
    """`labels: labels.csv`: rows of file (relative to the folder) and label (an integer class
    index or a class name); a header row is skipped when its label cell is not a number."""
    if not Path(table).is_file():
        raise DataError("labels file not found", table)
    try:
        with open(table, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"not a readable CSV file ({exc})", table) from None
    if rows and not rows[0][-1].strip().lstrip("-").isdigit() and len(rows) > 1 and \
            rows[0][0].strip().lower() in ("file", "filename", "path", "image"):
        rows = rows[1:]
    for number, row in enumerate(rows, start=1):
        if len(row) != 2:
            raise DataError(f"row {number} has {len(row)} cells; expected file,label", table)
    raw = [row[1].strip() for row in rows]
    numeric = all(cell.lstrip("-").isdigit() for cell in raw)
    names = class_names or sorted(set(raw), key=(int if numeric else str))
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise DataError(f"labels {unknown} are not among class_names", table)
    lookup = {name: i for i, name in enumerate(names)}
    files = []
    for number, (file, _) in enumerate(rows, start=1):
        path = os.path.join(folder, file.strip())
        if not Path(path).is_file():
            raise DataError(f"row {number}: image file not found", path)
        files.append(path)
    labels = [int(cell) for cell in raw] if numeric and class_names is None else \
        [lookup[cell] for cell in raw]
    return ImageIndex(files, np.asarray(labels, dtype=np.int64), [str(n) for n in names])


def _shuffled(index: ImageIndex, spec: Any, key_path: str) -> ImageIndex:
    """Keras shuffles the file list (and the labels the same way) unless `shuffle: false`."""
    if spec.shuffle is False:
        if spec.validation_split:
            raise ConfigError("validation_split needs the shuffled file list (shuffle: true) so "
                              "that both subsets hold every class", f"{key_path}.shuffle")
        return index
    if spec.seed is None:
        if spec.validation_split:
            raise ConfigError("validation_split needs a seed, the same on the training and the "
                              "validation subset, so that they never overlap", f"{key_path}.seed")
        return index  # the epochs are shuffled anyway; an unseeded list would differ per run
    files = list(index.files)
    np.random.RandomState(spec.seed).shuffle(files)
    labels = None
    if index.labels is not None:
        labels = index.labels.copy()
        np.random.RandomState(spec.seed).shuffle(labels)
    return ImageIndex(files, labels, index.class_names)


def _split(index: ImageIndex, spec: Any, key_path: str) -> ImageIndex:
    if not spec.validation_split:
        if spec.subset is not None:
            raise ConfigError("subset needs validation_split", f"{key_path}.subset")
        return index
    if spec.subset is None:
        raise ConfigError("validation_split needs subset: training or validation",
                          f"{key_path}.subset")
    held = int(spec.validation_split * len(index.files))
    if held == 0 or held == len(index.files):
        raise DataError(f"validation_split {spec.validation_split} leaves an empty subset of "
                        f"{len(index.files)} files", spec.path)
    cut = slice(None, -held) if spec.subset == "training" else slice(-held, None)
    return ImageIndex(index.files[cut], None if index.labels is None else index.labels[cut],
                      index.class_names)
