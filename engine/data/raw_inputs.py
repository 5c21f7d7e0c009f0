"""What the raw training inputs looked like (dtype, smallest and largest value per input),
kept in the checkpoint so `predict` can warn when the arrays it is given cannot be raw data of
that kind (the config's transforms would be applied to them a second time, silently)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import ArraySplit


def describe(split: Any) -> dict[str, dict[str, Any]]:
    """input name -> {dtype, min, max} of an in-memory split ({} for a streamed one)."""
    if not isinstance(split, ArraySplit) or len(split) == 0:
        return {}
    return {name: {"dtype": str(array.dtype), "min": float(np.min(array)),
                   "max": float(np.max(array))}
            for name, array in split.x.items() if np.issubdtype(array.dtype, np.number)}


def unlike_raw(x: dict[str, np.ndarray], raw: dict[str, dict[str, Any]]) -> list[str]:
    """One sentence per input whose dtype kind or value range cannot be the raw training data's."""
    notes = []
    for name, array in x.items():
        seen = raw.get(name)
        if seen is None or array.size == 0 or not np.issubdtype(array.dtype, np.number):
            continue
        trained = np.dtype(seen["dtype"])
        low, high = float(np.min(array)), float(np.max(array))
        margin = 0.05 * (seen["max"] - seen["min"])
        if np.issubdtype(trained, np.integer) and not np.issubdtype(array.dtype, np.integer):
            notes.append(f"input '{name}' is {array.dtype}, the raw training data was {trained}")
        elif low < seen["min"] - margin or high > seen["max"] + margin:
            notes.append(f"input '{name}' spans [{low:g}, {high:g}], outside the raw training "
                         f"data's [{seen['min']:g}, {seen['max']:g}]")
    return notes
