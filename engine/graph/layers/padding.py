"""Keras/TensorFlow `padding: same|valid|causal` for torch convolutions and pooling.

`same` gives ceil(size / stride) outputs; when the needed padding is odd TensorFlow puts the
extra element after, which torch's symmetric `padding=` cannot express, so such cases pad
explicitly. Variable-size axes with stride > 1 are padded per call.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

PADDINGS = ("valid", "same")


def check_padding(padding: str, allowed: Sequence[str] = PADDINGS) -> str:
    if padding not in allowed:
        raise ValueError(f"padding must be one of {', '.join(allowed)}, got '{padding}'")
    return padding


def _same_amounts(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SpatialPadding:
    """Padding for the trailing `len(kernel)` axes: `symmetric` goes to the torch op's
    `padding=`; `explicit` (F.pad order) is applied before it; `dynamic` computes it per call."""

    def __init__(self, mode: str, spatial: Sequence[Optional[int]], kernel: Sequence[int],
                 strides: Sequence[int], dilation: Sequence[int]):
        self.rank = len(kernel)
        self.geometry = (tuple(kernel), tuple(strides), tuple(dilation))
        self.symmetric: tuple[int, ...] = (0,) * self.rank
        self.explicit: Optional[tuple[int, ...]] = None
        self.dynamic = False
        if mode == "causal":
            self.explicit = ((kernel[-1] - 1) * dilation[-1], 0)
        elif mode == "same":
            if any(size is None and stride > 1 for size, stride in zip(spatial, strides)):
                self.dynamic = True
            else:
                amounts = [_same_amounts(size or 1, k, s, d)
                           for size, k, s, d in zip(spatial, kernel, strides, dilation)]
                if all(before == after for before, after in amounts):
                    self.symmetric = tuple(before for before, _ in amounts)
                else:
                    self.explicit = _pad_order(amounts)

    def pad_for(self, x: torch.Tensor) -> Optional[tuple[int, ...]]:
        """The F.pad amounts for this input, or None."""
        if not self.dynamic:
            return self.explicit
        return _pad_order([_same_amounts(size, k, s, d) for size, k, s, d
                           in zip(x.shape[-self.rank:], *self.geometry)])

    def apply(self, x: torch.Tensor, value: float = 0.0) -> torch.Tensor:
        pad = self.pad_for(x)
        return x if pad is None else F.pad(x, pad, value=value)


def _pad_order(amounts: list[tuple[int, int]]) -> tuple[int, ...]:
    """Per-axis (before, after), first axis first -> F.pad's last-axis-first flat tuple."""
    return tuple(v for before, after in reversed(amounts) for v in (before, after))
