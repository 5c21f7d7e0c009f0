"""The run's own checkpoints/ folder: `last.pt` (the newest) and the `previous-N.pt` files
before it, keep-last-K rotation, and the newest good checkpoint to resume from.

Rotation, per save: the new checkpoint is written to a temporary file and fsync'd; then the
current `last.pt` also gets the next `previous-N.pt` name, the new file is renamed to
`last.pt`, the directory is fsync'd, and only then are the oldest `previous-N.pt` beyond K
removed. A kill at any point leaves at least the K newest good checkpoints on disk, under
names this module lists."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .atomic import fsync_dir
from .checkpoint import load_checkpoint, save_checkpoint

LATEST = "last.pt"
PREVIOUS = re.compile(r"previous-(\d+)\.pt")
DAMAGED_SUFFIX = ".damaged"


@dataclass
class ResumePoint:
    """The checkpoint chosen to resume from, and the newer ones passed over (file, problem)."""
    path: Path
    state: dict[str, Any]
    skipped: list[tuple[Path, str]] = field(default_factory=list)


class CheckpointStore:
    def __init__(self, folder: Path, keep: int = 2):
        self.folder = Path(folder)
        self.keep = keep
        self.latest = self.folder / LATEST

    def save(self, path: Path, state: dict[str, Any]) -> None:
        """Write a checkpoint; `last.pt` rotates, any other path (ModelCheckpoint's) is
        simply replaced."""
        rotate = Path(path) == self.latest and self.keep > 1
        save_checkpoint(path, state, self._keep_latest if rotate else None)
        if rotate:
            self._prune()

    def newest_first(self) -> list[Path]:
        """`last.pt`, then the `previous-N.pt` files from the newest."""
        previous = sorted(self._previous(), key=lambda item: -item[0])
        return ([self.latest] if self.latest.is_file() else []) + [p for _, p in previous]

    def newest_good(self, quarantine: bool = True) -> ResumePoint | None:
        """The newest checkpoint that passes its checksum and loads; None when there is none
        at all. Newer damaged ones are renamed `*.damaged` (kept for inspection, never
        chosen again), so the next rotation does not keep them. Raises CheckpointError when
        checkpoints exist but none is good."""
        skipped: list[tuple[Path, str]] = []
        for path in self.newest_first():
            try:
                state = load_checkpoint(path)
            except CheckpointError as exc:
                skipped.append((path, exc.message))
                continue
            if quarantine:
                for bad, _ in skipped:
                    os.replace(bad, bad.with_name(bad.name + DAMAGED_SUFFIX))
                fsync_dir(self.folder)
            return ResumePoint(path, state, skipped)
        if not skipped:
            return None
        problems = "; ".join(f"{p.name}: {problem}" for p, problem in skipped)
        raise CheckpointError(
            f"no good checkpoint to resume from ({problems}). Nothing was changed; to start "
            f"over in a new run directory, run the same command with --resume never",
            str(self.folder))

    def _previous(self) -> list[tuple[int, Path]]:
        if not self.folder.is_dir():
            return []
        return [(int(m.group(1)), self.folder / m.group(0)) for name in os.listdir(self.folder)
                if (m := PREVIOUS.fullmatch(name))]

    def _keep_latest(self) -> None:
        """Give the current last.pt its previous-N.pt name too (a hard link, so last.pt never
        goes missing; a rename where the filesystem has no hard links)."""
        if not self.latest.is_file():
            return
        number = max((n for n, _ in self._previous()), default=0) + 1
        kept = self.folder / f"previous-{number}.pt"
        try:
            os.link(self.latest, kept)
        except OSError:
            os.replace(self.latest, kept)

    def _prune(self) -> None:
        """Called once the new last.pt is durable: drop the oldest beyond K in all."""
        for _, path in sorted(self._previous(), key=lambda item: -item[0])[self.keep - 1:]:
            path.unlink(missing_ok=True)
