"""Where relative paths in a config resolve: next to the config file first, then in the current
directory, for data files and `file.py:Name` components alike. The folders are set for the
duration of a build with `config_search_dirs(...)`."""
from __future__ import annotations

import contextlib
import contextvars
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

_search_dirs: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "config_search_dirs", default=())


@contextlib.contextmanager
def config_search_dirs(*dirs: Path) -> Iterator[None]:
    token = _search_dirs.set(tuple(Path(d) for d in dirs))
    try:
        yield
    finally:
        _search_dirs.reset(token)


def candidates(relative: str | Path) -> list[Path]:
    """The absolute paths `relative` may mean, in the order they are tried."""
    path = Path(relative).expanduser()
    if path.is_absolute():
        return [path]
    return list(dict.fromkeys((d / path).absolute() for d in (*_search_dirs.get(), Path.cwd())))


def find_file(relative: str | Path, key_path: str, what: str = "file") -> Path:
    """The first existing file among `candidates(relative)`; else a ConfigError at `key_path`
    naming every path tried."""
    tried = candidates(relative)
    found = next((p for p in tried if p.is_file()), None)
    if found is None:
        raise ConfigError(f"{what} '{relative}' not found (looked at "
                          f"{', '.join(str(p) for p in tried)})", key_path)
    return found
