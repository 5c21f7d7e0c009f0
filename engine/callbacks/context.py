"""TrainingContext: everything a callback may see and do while `fit` runs. The fit loop
satisfies it, and so does the tests' double; a callback reaches nothing else of the loop."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..errors import ConfigError
    from ..loop.progress import TrainingProgress
    from ..state.rundir import RunDir


@runtime_checkable
class TrainingContext(Protocol):
    run_dir: "RunDir"                 # paths of the run directory (run_dir.path, .checkpoints)
    is_main: bool                     # whether this process writes files (rank 0 under torchrun)
    recipe: Any                       # models, optimizers, metrics (trainer.engine.recipe.Recipe)
    main_model: str                   # the name of the model the data feeds
    progress: "TrainingProgress"      # epoch, step, global_step, history, epochs_done, resumed
    epochs: int                       # fit.epochs
    steps_per_epoch: int

    def save_checkpoint(self, path: Path, weights_only: bool = False) -> None:
        """Write a checkpoint (every rank calls it; rank 0 writes)."""

    def request_stop(self) -> None:
        """End training after this epoch (EarlyStopping; Keras's `stop_training = True`)."""

    def diverged(self, message: str) -> None:
        """Stop at once: the loss is no longer finite (TerminateOnNaN; exit 3)."""

    def warn(self, message: str) -> None:
        """A warning in train.log."""

    def note(self, message: str) -> None:
        """An informational line in train.log."""

    def metric_direction(self, name: str) -> str | None:
        """'up' or 'down' for a logged quantity (mode auto), None when unknown."""

    def config_error(self, message: str, key_path: str) -> "ConfigError":
        """A ConfigError located in the config file (key path and line)."""
