"""Key paths as users read them: `fit.callbacks[1].patience`."""
from __future__ import annotations

import re
from typing import Any, Iterable

_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def join(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def split(path: str) -> list[str | int]:
    """`a.b[1].c` or `a.b.1.c` -> ['a', 'b', 1, 'c']."""
    parts: list[str | int] = []
    for name, index in _TOKEN.findall(path):
        if index:
            parts.append(int(index))
        elif name.lstrip("-").isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
    return parts


def flatten(value: Any, prefix: tuple = ()) -> dict[str, Any]:
    """{key path: leaf value} of a nested config (`model.layers[0].units: 64`); an empty
    mapping or list is a leaf of its own."""
    if isinstance(value, dict) and value:
        items = value.items()
    elif isinstance(value, list) and value:
        items = enumerate(value)
    else:
        return {join(prefix): value}
    out: dict[str, Any] = {}
    for key, item in items:
        out.update(flatten(item, (*prefix, key)))
    return out
