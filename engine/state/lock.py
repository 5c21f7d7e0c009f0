"""One live `trainer fit` per run directory: a lock file with the owner's pid and host.
A lock whose process is dead (same host) is taken over."""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from ..errors import RunLocked

class RunLock:
    def __init__(self, lock_file: Path):
        self.path = Path(lock_file)  # RunDir.lock_file
        self.took_over_from: int | None = None

    def refuse_if_held(self) -> None:
        """RunLocked now if a live process holds the lock (a cheap early answer; acquire()
        decides for real, under the lock)."""
        owner = self._owner()
        if owner and _alive(owner) and owner.get("pid") != os.getpid():
            raise RunLocked(str(self.path.parent), owner["pid"], owner.get("host", "?"))

    def acquire(self) -> "RunLock":
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner and _alive(owner) and owner.get("pid") != me["pid"]:
                    raise RunLocked(str(self.path.parent), owner["pid"], owner.get("host", "?"))
                self.took_over_from = owner.get("pid") if owner else None
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(me, handle)
            return self

    def release(self) -> None:
        owner = self._owner()
        if owner and owner.get("pid") == os.getpid():
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def _owner(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _alive(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return True  # cannot check another host's processes: assume it is alive
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, KeyError):
        return True
    return True
