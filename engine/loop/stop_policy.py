"""StopPolicy: the decision to stop resumably (exit 75) once training runs. A stop signal asks
for it (engine/signals.py records it from process start; a second one stops at once),
`--max-time` asks for it at an epoch end when the next epoch would not fit, and under torchrun
the ranks agree so that all of them checkpoint and stop at the same step."""
from __future__ import annotations

import time

import torch

from .. import signals
from .distributed import SINGLE, DistContext, any_rank

# Under torchrun, how often the ranks agree on a pending signal (one small collective).
INTERRUPT_CHECK_STEPS = 10


class StopPolicy:
    def __init__(self, max_seconds: float | None = None, started: float | None = None,
                 dist: DistContext = SINGLE, device: torch.device | None = None):
        self.max_seconds = max_seconds
        self.started = time.monotonic() if started is None else started
        self.dist = dist
        self.device = device or torch.device("cpu")
        self._reason: str | None = None

    @property
    def reason(self) -> str | None:
        """Why training stops: --max-time, another rank, or the stop signal received."""
        return self._reason or signals.pending()

    def request(self, reason: str) -> None:
        self._reason = self.reason or reason

    def seconds_since_start(self) -> float:
        return time.monotonic() - self.started

    def stop_now(self, global_step: int, steps: int = 1) -> bool:
        """After `steps` steps that ended at `global_step`. Alone: whether a signal arrived (a
        host flag: no device sync). Under torchrun the ranks agree every
        INTERRUPT_CHECK_STEPS steps (when the last `steps` crossed a multiple of it)."""
        if not self.dist.enabled:
            return self.reason is not None
        if global_step % INTERRUPT_CHECK_STEPS >= steps:
            return False
        return self._agreed(self.reason is not None)

    def stop_after_epoch(self, next_epoch_seconds: float) -> bool:
        """At an epoch end (so every invocation completes at least one epoch): a pending
        signal, or --max-time that the next epoch would overrun; agreed by every rank."""
        if self.max_seconds is not None and \
                self.seconds_since_start() + next_epoch_seconds > self.max_seconds:
            self.request("--max-time reached")
        return self._agreed(self.reason is not None)

    def _agreed(self, stop: bool) -> bool:
        if any_rank(stop, self.dist, self.device):
            self.request("interrupted on another rank")
            return True
        return False

    def handle_signals(self) -> "_SecondSignalStops":
        """`with policy.handle_signals():` (the training loop) a second stop signal raises
        KeyboardInterrupt: stop at once, the last checkpoint is kept."""
        return _SecondSignalStops()


class _SecondSignalStops:
    def __enter__(self) -> "_SecondSignalStops":
        signals.raise_on_second(True)
        return self

    def __exit__(self, *exc) -> None:
        signals.raise_on_second(False)
