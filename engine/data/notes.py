"""Notes the data layer makes while loading (e.g. image files skipped), collected so the run
can write them to its log once the run directory exists (nothing is written before the
checks pass)."""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator

LOGGER = logging.getLogger("trainer.data")


class _Collect(logging.Handler):
    def __init__(self, notes: list[str]):
        super().__init__(logging.INFO)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        self.notes.append(record.getMessage())


@contextlib.contextmanager
def collected_notes() -> Iterator[list[str]]:
    notes: list[str] = []
    handler = _Collect(notes)
    LOGGER.addHandler(handler)
    propagate, LOGGER.propagate = LOGGER.propagate, False
    try:
        yield notes
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.propagate = propagate
