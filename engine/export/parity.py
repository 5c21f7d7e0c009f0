"""The parity check every export passes before it is declared done: the exported artifact's
outputs against the checkpoint model's on the same raw inputs. The relative difference of an
output is its largest absolute difference over the largest reference magnitude (so outputs
near zero do not inflate it)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ExportError

DEFAULT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Difference:
    output: str
    max_abs: float
    max_rel: float

    def __str__(self) -> str:
        return f"{self.output}: max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g}"


def compare(reference: dict[str, np.ndarray], actual: dict[str, np.ndarray]) -> list[Difference]:
    out = []
    for name, expected in reference.items():
        got = np.asarray(actual[name], dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            raise ExportError(f"output '{name}' has shape {list(got.shape)}, the checkpoint's "
                              f"model gives {list(expected.shape)}")
        abs_diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        out.append(Difference(name, abs_diff, abs_diff / scale if scale > 0 else abs_diff))
    return out


def check(differences: list[Difference], tolerance: float, what: str) -> None:
    worst = [d for d in differences if not d.max_rel <= tolerance]  # NaN fails too
    if worst:
        figures = "; ".join(str(d) for d in differences)
        raise ExportError(f"{what} differs from the checkpoint's model by more than the "
                          f"tolerance {tolerance:g} (relative): {figures}")
