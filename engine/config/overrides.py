"""`--set a.b[1].c=value` overrides (value parsed as YAML)."""
from __future__ import annotations

import copy
from typing import Any

import yaml

from ..errors import ConfigError
from . import keypath
from .limits import check_yaml_text


def parse_override(text: str) -> tuple[list[str | int], Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, got '{text}'", source=f"--set {text}")
    try:
        check_yaml_text(raw, f"--set {text}")
        value = yaml.safe_load(raw) if raw.strip() else None
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"value is not valid YAML: {exc}", key.strip(), f"--set {text}") from None
    return keypath.split(key.strip()), value


def apply_overrides(data: dict, overrides: list[str], locations: dict[str, str]) -> dict:
    data = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        _set(data, parts, value, text)
        locations[keypath.join(parts)] = f"--set {text}"
    return data


def _set(data: Any, parts: list[str | int], value: Any, text: str) -> None:
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = keypath.join(parts[: depth + 1])
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise ConfigError(
                    f"no list item {part} here (the list has {len(node)} items)", here,
                    f"--set {text}",
                )
        elif isinstance(node, dict):
            if isinstance(part, int) and part not in node:
                part = str(part)
        else:
            parent = keypath.join(parts[:depth])
            raise ConfigError(f"'{parent}' is a {type(node).__name__}, not a mapping or list",
                              parent, f"--set {text}")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and part not in node:
                node[part] = {}
            node = node[part]
