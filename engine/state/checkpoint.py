"""Checkpoint files: written atomically with a sealed checksum, read with
`torch.load(weights_only=True)` (a checkpoint can never run code) only once the checksum
matches, checked for format and content before use."""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from ..config.limits import check_object
from ..errors import CheckpointError, ConfigError
from .atomic import atomic_write
from .integrity import Damaged, seal, unseal

FORMAT = "trainer-checkpoint-1"
REQUIRED = ("format", "config", "models")


def save_checkpoint(path: Path, state: dict[str, Any],
                    before_replace: Callable[[], None] | None = None) -> None:
    """Serialise to memory first, so the file is written (and fsync'd) in one go."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    sealed = seal(buffer.getbuffer())
    atomic_write(Path(path), lambda handle: handle.write(sealed), before_replace)


def load_checkpoint(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """The checkpoint's state, or a CheckpointError in trainer's own words for any file that is
    not a readable trainer checkpoint (torch's text is never shown: it can advise an unsafe
    load)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint: {exc.strerror or exc}", str(path)) from None
    not_a_checkpoint = CheckpointError(f"not a trainer checkpoint: expected a file written by "
                                       f"trainer (a torch zip archive), found {_what_is(path)}",
                                       str(path))
    if data.strip(b"\0") and not data.startswith(b"PK"):
        raise not_a_checkpoint  # something else altogether (an HDF5 file, random bytes)
    try:
        archive = unseal(data)
    except Damaged as exc:
        raise CheckpointError(f"damaged checkpoint: {exc}", str(path)) from None
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles in its own words
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(archive), map_location=map_location, weights_only=True)
    except Exception:  # noqa: BLE001 - any failure to unpickle means "not a checkpoint"
        raise not_a_checkpoint from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"not a trainer checkpoint (expected format '{FORMAT}')", str(path))
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint lacks {', '.join(missing)}", str(path))
    if not isinstance(state["config"], dict) or not isinstance(state["models"], dict):
        raise CheckpointError("the checkpoint's config or models are not mappings", str(path))
    try:
        check_object(state["config"], None)
    except ConfigError as exc:
        raise CheckpointError(f"the checkpoint's stored config: {exc.message}", str(path)) from None
    return state


def is_weights_only(state: dict[str, Any]) -> bool:
    """A checkpoint of weights and config alone (ModelCheckpoint's save_weights_only,
    `trainer import-keras`): `fit --resume` starts a new run from its weights."""
    return "loop" not in state


def load_model_weights(models: dict[str, Any], state: dict[str, Any], origin: str | None = None
                       ) -> None:
    """Each model's weights from a checkpoint state; a mismatch is a CheckpointError naming
    the first key that does not fit and both shapes."""
    for name, model in models.items():
        _restore_weights(model, state["models"].get(name), name, origin)


def _restore_weights(model: torch.nn.Module, weights: Any, name: str, origin: str | None) -> None:
    def fail(why: str) -> CheckpointError:
        return CheckpointError(f"the weights do not fit the model '{name}': {why}", origin)
    if not isinstance(weights, dict):
        raise fail("the checkpoint has no weights for it")
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    if missing or unexpected:
        raise fail("; ".join(f"{what} {_few(keys)}" for what, keys in
                             (("missing", missing), ("unexpected", unexpected)) if keys))
    for key, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor) or tensor.shape != expected[key].shape:
            found = list(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise fail(f"'{key}' is {found} in the checkpoint, {list(expected[key].shape)} in "
                       f"the model")
    model.load_state_dict(weights)


def _few(keys: list[str]) -> str:
    shown = ", ".join(keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _what_is(path: Path) -> str:
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        return f"a file that cannot be read ({exc.strerror or type(exc).__name__})"
    if size == 0:
        return "an empty file"
    if head.startswith(b"PK"):
        return f"a damaged or incomplete archive ({size:,} bytes)"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (model.weights.h5 holds weights only; give a .pt checkpoint)"
    return f"{size:,} bytes of something else"
