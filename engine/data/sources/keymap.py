"""`x` / `y` in a split spec -> which key (dataset, array, column) feeds which model input or
output: one key for a single input, a mapping name -> key for several, or defaults by name."""
from __future__ import annotations

from typing import Any, Sequence

from ...errors import ConfigError
from ...registry import suggest


def map_keys(value: Any, names: list[str], default: str, available: Sequence[str] | None,
             key_path: str, list_is_one_array: bool = False) -> dict[str, Any]:
    """name -> key. Unset: the arrays named like the model's inputs/outputs, else `default`
    (`x` / `y`) for a single one; keys absent from `available` are left out (no targets).
    A list maps to the names in order, or (CSV columns) forms one array."""
    if value is None:
        if available is None:
            return {}
        if all(name in available for name in names):
            return {name: name for name in names}
        return {names[0]: default} if len(names) == 1 and default in available else {}
    if isinstance(value, dict):
        unknown = [name for name in value if name not in names]
        if unknown:
            what = "takes data" if _kind(key_path) == "input" else "takes targets from the data"
            raise ConfigError(f"'{unknown[0]}' is not a model {_kind(key_path)} that {what}"
                              f"{suggest(str(unknown[0]), names)}; those are "
                              f"{', '.join(names)}", f"{key_path}.{unknown[0]}")
        missing = [name for name in names if name not in value]
        if missing:
            raise ConfigError(f"no key given for model {_kind(key_path)} '{missing[0]}'", key_path)
        return dict(value)
    if isinstance(value, list) and not list_is_one_array:
        if len(value) != len(names):
            raise ConfigError(f"{len(value)} keys for {len(names)} model {_kind(key_path)}s "
                              f"({', '.join(names)}); use a mapping name -> key", key_path)
        return dict(zip(names, value))
    if len(names) != 1:
        raise ConfigError(f"one key for {len(names)} model {_kind(key_path)}s; map each: "
                          f"{{{', '.join(f'{n}: KEY' for n in names)}}}", key_path)
    return {names[0]: value}


def _kind(key_path: str) -> str:
    return "output" if key_path.endswith(".y") else "input"
