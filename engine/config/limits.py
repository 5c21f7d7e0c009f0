"""Size limits every config meets before it is built: document bytes, nesting depth, nodes
after alias expansion, and keys, so a hostile config (an alias bomb, 400,000 keys, nesting
5,000 deep) is refused at once instead of hanging. Each limit is raised by an environment
variable when a config really needs more."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ConfigError


@dataclass(frozen=True)
class Limit:
    name: str      # what the message calls it
    variable: str  # the environment variable that raises it
    default: int

    @property
    def value(self) -> int:
        raw = os.environ.get(self.variable, "")
        return int(raw) if raw.strip().isdigit() else self.default

    def error(self, found: str, source: str | None) -> ConfigError:
        return ConfigError(
            f"refused: {found}, over the {self.name} limit of {self.value:,}; if that is really "
            f"meant, raise it with the environment variable {self.variable}=N", source=source)


# Hand-written configs are a few kilobytes, a dozen levels deep and a few hundred keys.
MAX_BYTES = Limit("size", "TRAINER_CONFIG_MAX_BYTES", 1 << 20)
MAX_DEPTH = Limit("nesting depth", "TRAINER_CONFIG_MAX_DEPTH", 64)
MAX_NODES = Limit("node", "TRAINER_CONFIG_MAX_NODES", 100_000)
MAX_KEYS = Limit("key", "TRAINER_CONFIG_MAX_KEYS", 20_000)
LIMITS = (MAX_BYTES, MAX_DEPTH, MAX_NODES, MAX_KEYS)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: only counts


class _Counter:
    """Running totals against the limits (limits read once per document)."""

    def __init__(self, source: str | None):
        self.source = source
        self.max_depth, self.max_nodes, self.max_keys = (
            MAX_DEPTH.value, MAX_NODES.value, MAX_KEYS.value)

    def check(self, nodes: int, keys: int, depth: int) -> None:
        if depth > self.max_depth:
            raise MAX_DEPTH.error("the config nests deeper", self.source)
        if nodes > self.max_nodes:
            raise MAX_NODES.error("the config has more nodes (after expanding YAML aliases)",
                                  self.source)
        if keys > self.max_keys:
            raise MAX_KEYS.error("the config has more keys (after expanding YAML aliases)",
                                 self.source)


def check_size(size: int, source: str | None) -> None:
    if size > MAX_BYTES.value:
        raise MAX_BYTES.error(f"the config is {size:,} bytes", source)


def check_yaml_text(text: str, source: str) -> None:
    """Refuse a YAML document over a limit, from its event stream (no tree is built, so an
    alias bomb costs no more than its own text). Raises yaml.YAMLError on a syntax error."""
    check_size(len(text.encode("utf-8", "surrogatepass")), source)
    counter = _Counter(source)
    nodes = keys = 0
    anchors: dict[str, tuple[int, int, int]] = {}  # anchor -> (nodes, keys, depth) of its node
    # Open collections: [is mapping, next child is a key, anchor, nodes/keys at start, deepest].
    stack: list[list[Any]] = []
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                _, _, anchor, start_nodes, start_keys, deepest = stack.pop()
                if anchor:
                    anchors[anchor] = (nodes - start_nodes, keys - start_keys,
                                       deepest - len(stack))
                if stack:
                    stack[-1][5] = max(stack[-1][5], deepest)
                continue
            if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent,
                                      yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                continue
            if stack and stack[-1][0]:
                keys += stack[-1][1]
                stack[-1][1] = not stack[-1][1]
            depth = len(stack)
            if isinstance(event, yaml.AliasEvent):
                add_nodes, add_keys, add_depth = anchors.get(event.anchor, (1, 0, 0))
                nodes, keys, depth = nodes + add_nodes, keys + add_keys, depth + add_depth
            else:
                nodes += 1
                if isinstance(event, yaml.ScalarEvent):
                    if event.anchor:
                        anchors[event.anchor] = (1, 0, 0)
                else:
                    depth += 1
                    stack.append([isinstance(event, yaml.MappingStartEvent), True,
                                  event.anchor, nodes - 1, keys, depth])
            if stack:
                stack[-1][5] = max(stack[-1][5], depth)
            counter.check(nodes, keys, depth)
    finally:
        loader.dispose()


def check_object(data: Any, source: str | None) -> None:
    """The same limits for a config that arrives as Python objects (a checkpoint's stored
    config): shared sub-objects count once per reference, a cycle is refused."""
    counter = _Counter(source)
    sizes: dict[int, tuple[int, int, int]] = {}
    in_progress: set[int] = set()
    pending: list[tuple[Any, bool]] = [(data, False)]
    while pending:
        obj, finished = pending.pop()
        if not isinstance(obj, (dict, list)):
            continue
        children = [*obj.keys(), *obj.values()] if isinstance(obj, dict) else obj
        if finished:
            in_progress.discard(id(obj))
            parts = [sizes.get(id(c), (1, 0, 0)) for c in children]
            nodes = 1 + sum(p[0] for p in parts)
            keys = (len(obj) if isinstance(obj, dict) else 0) + sum(p[1] for p in parts)
            depth = 1 + max((p[2] for p in parts), default=0)
            sizes[id(obj)] = (nodes, keys, depth)
            counter.check(nodes, keys, depth)
        elif id(obj) in in_progress:
            raise ConfigError("the config contains itself (a reference cycle)", source=source)
        elif id(obj) not in sizes:
            in_progress.add(id(obj))
            pending.append((obj, True))
            pending.extend((c, False) for c in children)
            if len(in_progress) > counter.max_depth:
                counter.check(0, 0, len(in_progress))
