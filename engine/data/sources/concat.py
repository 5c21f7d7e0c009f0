"""`source: concat`: several sources joined, in order, into one split (e.g. MNIST's train and
test files, the GAN guide's 70,000 digits). The parts are read into memory and must hold the
same inputs and targets with the same per-sample shapes."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ...errors import ConfigError, DataError
from ..arrays import ArraySplit


def load_concat(spec: Any, key_path: str, load_part: Callable[[Any, str], Any]) -> ArraySplit:
    if not spec.sources:
        raise ConfigError("source concat needs 'sources': a list of sources to join",
                          f"{key_path}.sources")
    parts = []
    for i, part_spec in enumerate(spec.sources):
        part = load_part(part_spec, f"{key_path}.sources[{i}]")
        if not isinstance(part, ArraySplit):
            raise ConfigError("concat joins sources read into memory; this one streams or is a "
                              "Python data source (raise data.memory_budget, or join it in your "
                              "own Python source)", f"{key_path}.sources[{i}]")
        parts.append(part)
    first = parts[0]
    for part in parts[1:]:
        for name, array in part.arrays().items():
            reference = first.arrays().get(name)
            if reference is None or reference.shape[1:] != array.shape[1:]:
                got = "nothing" if reference is None else f"shape {list(reference.shape[1:])}"
                raise DataError(f"cannot join: '{name}' has per-sample shape "
                                f"{list(array.shape[1:])} here and {got} in {first.origin}",
                                part.origin, part.key(name))
        if set(part.arrays()) != set(first.arrays()):
            raise DataError(f"cannot join: it holds {sorted(part.arrays())} but {first.origin} "
                            f"holds {sorted(first.arrays())}", part.origin)

    def joined(pick: Callable[[ArraySplit], dict[str, np.ndarray] | None]) -> dict | None:
        if pick(first) is None:
            return None
        return {name: np.concatenate([pick(p)[name] for p in parts]) for name in pick(first)}

    weights = None if first.sample_weight is None else \
        np.concatenate([p.sample_weight for p in parts])
    origin = " + ".join(p.origin for p in parts)
    return ArraySplit(joined(lambda p: p.x), joined(lambda p: p.y), weights, origin, first.keys)
