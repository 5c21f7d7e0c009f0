"""YAML loading that remembers where every key came from (file:line), within the size limits."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from . import keypath
from .limits import check_size, check_yaml_text


def load_yaml(path: Path) -> tuple[Any, dict[str, str]]:
    """Parse `path`; return the data and a map key path -> 'file:line'."""
    try:
        if path.is_file():  # a huge file is refused before it is read
            check_size(path.stat().st_size, str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, filename: str) -> tuple[Any, dict[str, str]]:
    loader = None
    try:
        check_yaml_text(text, filename)
        loader = yaml.SafeLoader(text)  # refuses unprintable characters at once
        node = loader.get_single_node()
        locations: dict[str, str] = {}
        data = _construct(loader, node, [], filename, locations) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{filename}:{mark.line + 1}" if mark else filename
        raise ConfigError(f"YAML syntax error: {exc.problem or exc}", source=where) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", source=filename) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, locations


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: list, filename: str,
               locations: dict[str, str]) -> Any:
    locations[keypath.join(path)] = f"{filename}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise ConfigError(
                    f"duplicate key '{key}'", keypath.join([*path, key]),
                    f"{filename}:{key_node.start_mark.line + 1}",
                )
            out[key] = _construct(loader, value_node, [*path, key], filename, locations)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, [*path, i], filename, locations)
                for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"cannot read the value {_clip(node.value)}: {exc}",
                          keypath.join(path), f"{filename}:{node.start_mark.line + 1}") from None


def _clip(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else f"{text[:20]}...{text[-10:]}")
