"""ArraySplit: one split's arrays, keyed by model input and output names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ArraySplit:
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray] | None
    sample_weight: np.ndarray | None = None
    origin: str = ""  # file (and key) it came from, for messages

    def __len__(self) -> int:
        return len(next(iter(self.x.values())))

    def slice(self, start: int, stop: int | None = None) -> "ArraySplit":
        cut = slice(start, stop)
        return ArraySplit(
            {k: v[cut] for k, v in self.x.items()},
            None if self.y is None else {k: v[cut] for k, v in self.y.items()},
            None if self.sample_weight is None else self.sample_weight[cut],
            self.origin,
        )
