"""`${VAR}` and `${VAR:-default}` in string values."""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

from ..errors import ConfigError
from . import keypath

_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(data: Any, locations: Mapping[str, str], env: Mapping[str, str] | None = None,
                path: list | None = None) -> Any:
    env = os.environ if env is None else env
    path = path or []
    if isinstance(data, dict):
        return {k: interpolate(v, locations, env, [*path, k]) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, locations, env, [*path, i]) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        key = keypath.join(path)
        raise ConfigError(
            f"environment variable '{name}' is not set (write ${{{name}:-default}} for a default)",
            key, locations.get(key),
        )

    value = _PATTERN.sub(substitute, data)
    # A whole-value reference is typed like YAML would type it (`epochs: ${EPOCHS}` -> int).
    if _PATTERN.fullmatch(data):
        import yaml
        try:
            return yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            return value
    return value
