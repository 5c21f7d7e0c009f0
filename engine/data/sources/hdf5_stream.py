"""StreamSplit: a split that stays in its HDF5 file (larger than `data.memory_budget`). It reads
row ranges on demand and applies the split's transforms to what it reads; it never holds the
whole split in memory."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator

import h5py
import numpy as np

from ..arrays import ArraySplit
from ..class_weights import weigh_samples

PASS_CHUNK_BYTES = 32 * 2**20  # rows read at a time by whole-split passes (checks, fitting)


@dataclass
class StreamSplit:
    path: str
    x_keys: dict[str, str]            # input name -> dataset key
    y_keys: dict[str, str] | None     # output name -> dataset key
    weight_key: str | None
    start: int
    stop: int
    budget: int                       # bytes this split's iteration may hold in memory
    row_bytes: int                    # bytes of one sample once transformed (estimate)
    file_chunk_rows: int = 1          # the HDF5 chunking of the inputs (reads align to it)
    transforms: Any = field(default=None, repr=False)  # DataTransforms, set by load_data
    class_weights: Any = field(default=None, repr=False)  # fit.class_weight table (train only)

    @property
    def origin(self) -> str:
        return self.path

    @property
    def keys(self) -> dict[str, str]:
        out = {**self.x_keys, **(self.y_keys or {})}
        if self.weight_key:
            out["sample_weight"] = self.weight_key
        return out

    def key(self, name: str) -> str:
        return self.keys.get(name, name)

    def __len__(self) -> int:
        return self.stop - self.start

    def slice(self, start: int, stop: int | None = None) -> "StreamSplit":
        stop = len(self) if stop is None else min(stop, len(self))
        return replace(self, start=self.start + start, stop=self.start + stop)

    def open(self) -> h5py.File:
        return h5py.File(self.path, "r")

    def read(self, handle: h5py.File, ranges: list[tuple[int, int]],
             transform: bool = True) -> ArraySplit:
        """The rows of `ranges` (relative to the split), concatenated, transformed."""
        total = sum(stop - start for start, stop in ranges)

        def gather(key: str) -> np.ndarray:
            dataset = handle[key]
            out = np.empty((total, *dataset.shape[1:]), dtype=dataset.dtype)
            offset = 0
            for start, stop in ranges:
                if stop > start:
                    dataset.read_direct(out, np.s_[self.start + start: self.start + stop],
                                        np.s_[offset: offset + stop - start])
                    offset += stop - start
            return out

        raw = ArraySplit({n: gather(k) for n, k in self.x_keys.items()},
                         None if self.y_keys is None else
                         {n: gather(k) for n, k in self.y_keys.items()},
                         gather(self.weight_key) if self.weight_key else None,
                         self.path, self.keys)
        return self.finished(raw, transform)

    def finished(self, raw: ArraySplit, transform: bool = True) -> ArraySplit:
        """Rows as read -> what `read` returns: transformed, then class-weighted (train)."""
        if not transform:
            return raw
        out = raw if self.transforms is None else self.transforms.apply(raw)
        return out if self.class_weights is None else weigh_samples(out, self.class_weights)

    def passes(self, transformed: bool = True) -> Iterator[ArraySplit]:
        """The whole split in contiguous chunks of about PASS_CHUNK_BYTES, in order."""
        rows = max(1, min(PASS_CHUNK_BYTES, self.budget // 4) // max(self.row_bytes, 1))
        with self.open() as handle:
            for start in range(0, len(self), rows):
                yield self.read(handle, [(start, min(start + rows, len(self)))], transformed)

    @property
    def y(self) -> dict[str, np.ndarray] | None:
        """All targets, transformed, in memory (targets are small next to inputs)."""
        if self.y_keys is None:
            return None
        with self.open() as handle:
            targets = {name: handle[key][self.start: self.stop] for name, key in self.y_keys.items()}
        return self.transformed_targets(targets)

    def transformed_targets(self, targets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        split = ArraySplit({}, targets, None, self.path, self.keys)
        return targets if self.transforms is None else self.transforms.apply(split).y
