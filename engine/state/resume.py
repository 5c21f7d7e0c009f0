"""Where a `fit` continues from: the newest good checkpoint (never a silent fresh start),
the one line and event that say so when a damaged newer one was passed over, and history
files rolled back to the chosen checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .checkpoint import load_checkpoint
from .store import DAMAGED_SUFFIX, CheckpointStore, ResumePoint


def newest_good_checkpoint(run_dir: Any, store: CheckpointStore, is_main: bool
                           ) -> ResumePoint | None:
    """None only for a run that has not trained yet (no checkpoint, no recorded progress).
    Rank 0 alone renames damaged files aside; every rank arrives at the same good one."""
    point = store.newest_good(quarantine=is_main)
    if point is None and (trained := run_dir.read_status().get("step")):
        raise CheckpointError(
            f"the run has trained {trained} steps (status.json) but there is no checkpoint "
            f"to resume from. Nothing was changed; to start over in a new run directory, "
            f"run the same command with --resume never", str(store.folder))
    return point


def explicit_checkpoint(path: Path | None) -> ResumePoint | None:
    """`--resume PATH`: that file or an error, no fallback."""
    return None if path is None else ResumePoint(Path(path), load_checkpoint(path))


def resume(loop: Any, point: ResumePoint) -> None:
    loop.load_state_dict(point.state)
    progress = loop.progress
    if point.skipped:
        passed_over = "; ".join(f"{path} is unusable ({problem})" for path, problem in point.skipped)
        message = (f"{passed_over}; resuming from {point.path} instead (epoch "
                   f"{progress.epoch + 1}, step {progress.step}); the damaged file is kept as "
                   f"*{DAMAGED_SUFFIX}")
        loop.record.console_warning(message)
        loop.record.event("fallback", checkpoint=str(point.path),
                           skipped=[{"file": str(p), "problem": why} for p, why in point.skipped])
    roll_back_history(loop)


def roll_back_history(loop: Any) -> None:
    """Rewrite history.csv/json (and CSVLogger's file) from the checkpoint's history, so rows
    of epochs after it (written before a kill, or by a newer damaged checkpoint's run) go."""
    from ..callbacks.csv_logger import CSVLogger
    progress = loop.progress
    loop.record.write_history(progress.history, progress.epochs_done, loop.history_params())
    for callback in loop.callbacks.callbacks:
        if isinstance(callback, CSVLogger):
            callback.write_history()
