"""`--max-time` values: 2h30m, 90m, 45s, 1h, or plain seconds."""
from __future__ import annotations

import re

from trainer.engine.errors import ConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_SECONDS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> float:
    text = text.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ConfigError(f"--max-time expects a duration like 2h30m, 90m or 45s, got '{text}'")
    return sum(float(n) * _SECONDS[unit] for n, unit in parts)
