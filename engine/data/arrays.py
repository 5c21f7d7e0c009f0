"""ArraySplit: one split's arrays in memory, keyed by model input and output names, with the
file and dataset keys they came from (for error messages)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError


@dataclass
class ArraySplit:
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray] | None
    sample_weight: np.ndarray | None = None
    origin: str = ""  # file (and key) it came from, for messages
    keys: dict[str, str] = field(default_factory=dict)  # input/output name -> key in the file
    class_names: list[str] | None = None  # what the integer labels mean (image folders)

    def __len__(self) -> int:
        return len(next(iter(self.x.values())))

    def key(self, name: str) -> str:
        return self.keys.get(name, name)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (inputs, targets, and `sample_weight`)."""
        out = dict(self.x)
        out.update(self.y or {})
        if self.sample_weight is not None:
            out["sample_weight"] = self.sample_weight
        return out

    def slice(self, start: int, stop: int | None = None) -> "ArraySplit":
        return self.take(slice(start, stop))

    def take(self, cut: slice | np.ndarray) -> "ArraySplit":
        """The rows selected by a slice (views) or an index array (copies)."""
        return ArraySplit(
            {k: v[cut] for k, v in self.x.items()},
            None if self.y is None else {k: v[cut] for k, v in self.y.items()},
            None if self.sample_weight is None else self.sample_weight[cut],
            self.origin, self.keys, self.class_names,
        )

    def check_lengths(self) -> None:
        """Every array must hold one row per sample."""
        lengths = {name: len(array) for name, array in self.arrays().items()}
        first = next(iter(lengths))
        for name, length in lengths.items():
            if length != lengths[first]:
                raise DataError(f"'{self.key(name)}' has {length} samples but "
                                f"'{self.key(first)}' has {lengths[first]}", self.origin,
                                self.key(name))
