"""Checkpoint files: written atomically, read with `torch.load(weights_only=True)` (a
checkpoint can never run code), checked for format and content before use."""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .atomic import atomic_write

FORMAT = "trainer-checkpoint-1"
REQUIRED = ("format", "config", "models")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Serialise to memory first, so the file is written (and fsync'd) in one go."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    atomic_write(Path(path), lambda handle: handle.write(buffer.getbuffer()))


def load_checkpoint(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", str(path))
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError) as exc:
        raise CheckpointError(f"not a readable trainer checkpoint ({_first_line(exc)})", str(path)) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"not a trainer checkpoint (expected format '{FORMAT}')", str(path))
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint lacks {', '.join(missing)}", str(path))
    return state


def is_weights_only(state: dict[str, Any]) -> bool:
    """A checkpoint of weights and config alone (ModelCheckpoint's save_weights_only,
    `trainer import-keras`): `fit --resume` starts a new run from its weights."""
    return "loop" not in state


def load_model_weights(models: dict[str, Any], state: dict[str, Any], origin: str | None = None
                       ) -> None:
    """Each model's weights from a checkpoint state; a mismatch is a CheckpointError."""
    for name, model in models.items():
        try:
            model.load_state_dict(state["models"][name])
        except (KeyError, RuntimeError) as exc:
            raise CheckpointError(f"weights do not fit the model '{name}': "
                                  f"{_first_line(exc)}", origin) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
