"""From a YAML file (plus --set and ${ENV}) to a validated, immutable Experiment."""
from __future__ import annotations

import hashlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel

from ..errors import ConfigError
from ..registry import suggest
from . import keypath
from .interpolate import interpolate
from .loader import load_yaml, parse_yaml
from .overrides import apply_overrides
from .schema import Experiment


@dataclass(frozen=True)
class LoadedExperiment:
    config: Experiment
    resolved: dict[str, Any]  # defaults filled; what config.yaml holds and the hash covers
    locations: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    @property
    def hash(self) -> str:
        return config_hash(self.resolved)

    def where(self, key_path: str) -> str | None:
        """The file:line a key path came from (or its closest parent's)."""
        parts = keypath.split(key_path)
        while parts:
            found = self.locations.get(keypath.join(parts))
            if found:
                return found
            parts.pop()
        return None

    def config_error(self, message: str, key_path: str) -> ConfigError:
        return ConfigError(message, key_path, self.where(key_path))


def load_experiment(path: str | Path, overrides: list[str] = ()) -> LoadedExperiment:
    path = Path(path)
    data, locations = load_yaml(path)
    return resolve_experiment(data, locations, overrides, path)


def loads_experiment(text: str, overrides: list[str] = (), filename: str = "<string>") -> LoadedExperiment:
    data, locations = parse_yaml(text, filename)
    return resolve_experiment(data, locations, overrides, None)


def resolve_experiment(data: Any, locations: dict[str, str], overrides: list[str] = (),
                       source: Path | None = None) -> LoadedExperiment:
    if not isinstance(data, dict):
        raise ConfigError("the config must be a YAML mapping at the top level",
                          source=str(source) if source else None)
    locations = dict(locations)
    data = interpolate(data, locations)
    data = apply_overrides(data, list(overrides), locations)
    try:
        config = Experiment.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _first_error(exc, locations) from None
    resolved = config.model_dump(mode="json", exclude_none=True)
    return LoadedExperiment(config, resolved, locations, source)


def config_hash(resolved: dict[str, Any]) -> str:
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_diff(old: Any, new: Any, path: list | None = None) -> list[str]:
    """Key paths whose values differ, as `path: old -> new` lines."""
    path = path or []
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for key in list(old) + [k for k in new if k not in old]:
            lines += config_diff(old.get(key), new.get(key), [*path, key])
        return lines
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [line for i, (a, b) in enumerate(zip(old, new))
                for line in config_diff(a, b, [*path, i])]
    if old != new:
        return [f"{keypath.join(path)}: {json.dumps(old)} -> {json.dumps(new)}"]
    return []


def _first_error(exc: pydantic.ValidationError, locations: dict[str, str]) -> ConfigError:
    """One clear message from pydantic's list (unions report one error per branch)."""
    errors = exc.errors()
    # Prefer the most specific location: union branches that failed early say less.
    best = max(errors, key=lambda e: len([p for p in e["loc"] if not _is_union_tag(p)]))
    loc = [p for p in best["loc"] if not _is_union_tag(p)]
    if best["type"] == "extra_forbidden":  # the last part is the unknown key, whatever its name
        loc = [p for p in best["loc"][:-1] if not _is_union_tag(p)] + [best["loc"][-1]]
    path = keypath.join(loc)
    source = source_line(locations, loc)
    kind = best["type"]
    if kind == "extra_forbidden":
        valid = _field_names_at(loc[:-1])
        return ConfigError(
            f"unknown key '{loc[-1]}'{suggest(str(loc[-1]), valid)}; valid keys here: "
            f"{', '.join(valid)}", path, source)
    if kind == "missing":
        return ConfigError("this key is required", path, source)
    got = best.get("input")
    got_text = f" (got {json.dumps(got, default=str)})" if not isinstance(got, (dict, list)) else ""
    message = str(best["ctx"]["error"]) if kind == "value_error" else best["msg"].lower()
    return ConfigError(f"{message}{got_text}", path, source)


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the union member's type name into the location (e.g. 'str', 'dict[str,any]').
    return isinstance(part, str) and (part in {"str", "int", "float", "bool"} or "[" in part
                                      or part.startswith("literal") or part == "function-after")


def source_line(locations: dict[str, str], loc: list) -> str | None:
    """The file:line of key path `loc` (a list of parts), or of its closest parent's."""
    parts = list(loc)
    while parts:
        found = locations.get(keypath.join(parts))
        if found:
            return found
        parts.pop()
    return locations.get("")


def _field_names_at(loc: list) -> list[str]:
    """Field names of the schema section found at `loc` (for did-you-mean)."""
    model: Any = Experiment
    for part in loc:
        model = _descend(model, part)
        if model is None:
            return []
    return list(model.model_fields) if _is_model(model) else []


def _descend(annotation: Any, part: Any) -> Any:
    if _is_model(annotation):
        info = annotation.model_fields.get(part)
        return _unwrap(info.annotation) if info else None
    origin = typing.get_origin(annotation)
    if origin in (dict, list):
        return _unwrap(typing.get_args(annotation)[-1])
    return None


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / Union[..., Model, ...] -> the member that can hold nested keys."""
    if typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        nested = [a for a in members if _is_model(a) or typing.get_origin(a) in (dict, list)]
        return nested[0] if nested else members[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
