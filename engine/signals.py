"""Stop signals from the first millisecond to exit. The first SIGTERM / SIGINT / SIGUSR1 (or the
signals a config names in `fit.stop_signals`) is only recorded, never raised, so no import,
config load or file write is ever cut in half; the running code checks `pending()` at safe
points and stops resumably (exit 75). A second signal stops at once: inside the training loop as
KeyboardInterrupt (the last checkpoint is kept), before it by leaving the process (exit 75:
nothing has been written that a kill could tear, every write being atomic). A repeat within
DUPLICATE_SECONDS is the same request, not a second one: `timeout` delivers its signal to the
command and again to its process group."""
from __future__ import annotations

import os
import signal
import sys
import time

DEFAULT_STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1")
EXIT_INTERRUPTED = 75  # RunState.INTERRUPTED's code; this module imports nothing of trainer's
DUPLICATE_SECONDS = 0.1  # timeout's two deliveries are microseconds apart; two key presses are not

_received: list[str] = []
_first_at = 0.0
_caught: set[int] = set()
_raise_second = False  # True while the training loop runs (it handles KeyboardInterrupt)


def install(names: tuple[str, ...] | list[str] = DEFAULT_STOP_SIGNALS) -> None:
    """Catch these signals (only those: a signal no longer named gets its default back)."""
    wanted = {getattr(signal, name) for name in names}
    for name in {*DEFAULT_STOP_SIGNALS, *names}:
        sig = getattr(signal, name)
        try:
            signal.signal(sig, _handle if sig in wanted else signal.SIG_DFL)
        except ValueError:  # not the main thread (an embedding program owns the signals)
            return
    _caught.clear()
    _caught.update(wanted)


def ignore_from_now() -> None:
    """The command is over: a stop signal from now on is ignored, so the process exits with the
    command's own code (Python resets its handlers to the default while exiting, and a late
    SIGTERM would otherwise end it as 143)."""
    for sig in _caught:
        signal.signal(sig, signal.SIG_IGN)


def pending() -> str | None:
    """The name of the first stop signal received, if any."""
    return _received[0] if _received else None


def raise_on_second(enabled: bool) -> None:
    global _raise_second
    _raise_second = enabled


def clear() -> None:
    """Forget received signals (an in-process caller that runs several commands)."""
    _received.clear()


def _handle(signum: int, frame) -> None:
    global _first_at
    name = signal.Signals(signum).name
    if not _received:
        _received.append(name)
        _first_at = time.monotonic()
        return
    if time.monotonic() - _first_at < DUPLICATE_SECONDS:
        return
    if _raise_second:
        raise KeyboardInterrupt
    sys.stderr.write(f"interrupted: second {name} before training started: nothing written; "
                     f"run the same command again to continue\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)
