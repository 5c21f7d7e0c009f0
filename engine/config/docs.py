"""Documentation generated from the config schema (`make docs`): the JSON Schema file editors
use (schema/trainer.schema.json), the yaml-language-server line at the top of every shipped
config, and the README's config reference table. `--check` reports what is stale instead."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from .schema import Experiment

SCHEMA_FILE = Path("schema") / "trainer.schema.json"
SCHEMA_COMMENT = "# yaml-language-server: $schema="
README_START = "<!-- config-reference:start -->"
README_END = "<!-- config-reference:end -->"


def json_schema() -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **Experiment.model_json_schema()}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


def schema_comment(config: Path, schema_file: Path) -> str:
    """The first line of a config: where its schema lies, relative to the config's folder."""
    relative = os.path.relpath(schema_file.resolve(), config.resolve().parent)
    return SCHEMA_COMMENT + Path(relative).as_posix()


def with_schema_comment(text: str, comment: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(SCHEMA_COMMENT):
        lines = lines[1:]
    return comment + "\n" + "".join(lines)


# --- the README's reference table -----------------------------------------------------------

def reference_rows(schema: dict[str, Any] | None = None) -> Iterator[tuple[str, str, str, str]]:
    """(key path, type, default, description) for every key. A section's keys are listed once:
    sibling keys holding the same section share them (`data.{train,validation,test}.source`)."""
    schema = schema or json_schema()
    yield from _rows(schema, _Names(schema), "")


class _Names:
    """Type names for the README; a section is named by the key path it was first listed at."""

    def __init__(self, root: dict):
        self.root = root
        self.sections: dict[str, str] = {}

    def resolve(self, node: dict) -> tuple[str, dict]:
        title = node["$ref"].rsplit("/", 1)[-1]
        return title, self.root["$defs"][title]

    def type_text(self, prop: dict, top: bool = True) -> str:
        members = [m for m in prop.get("anyOf", [prop]) if not (top and m.get("type") == "null")]
        text = " \\| ".join(dict.fromkeys(self._one(m) for m in members))
        return text if top or len(members) == 1 else f"({text})"

    def _one(self, node: dict) -> str:
        if "$ref" in node:
            title, _ = self.resolve(node)
            return f"`{self.sections[title]}` section" if title in self.sections else title
        if "const" in node:
            return json.dumps(node["const"])
        if "enum" in node:
            return " \\| ".join(json.dumps(v) for v in node["enum"])
        kind = node.get("type", "any")
        if kind == "array":
            items = node.get("items")
            return f"list of {self.type_text(items, top=False)}" if items else "list"
        if kind == "object" and isinstance(node.get("additionalProperties"), dict):
            return f"mapping to {self.type_text(node['additionalProperties'], top=False)}"
        if kind == "object":
            return "mapping"
        bounds = [f"{sign} {node[bound]}" for bound, sign in _BOUNDS if bound in node]
        return " ".join([kind, ", ".join(bounds)]) if bounds else kind


_BOUNDS = (("exclusiveMinimum", ">"), ("minimum", ">="),
           ("exclusiveMaximum", "<"), ("maximum", "<="))


def _rows(node: dict, names: _Names, prefix: str) -> Iterator[tuple[str, str, str, str]]:
    required = set(node.get("required", ()))
    properties = node.get("properties", {})
    sections = {key: names.resolve(ref) for key, prop in properties.items()
                for ref in prop.get("anyOf", [prop]) if "$ref" in ref}
    listed: set[str] = set()
    for key, prop in properties.items():
        if key in listed:
            continue
        path = f"{prefix}{key}"
        default = "required" if key in required else _default_text(prop)
        if key not in sections or sections[key][0] in names.sections:
            yield path, names.type_text(prop), default, prop.get("description", "")
            continue
        title, section = sections[key]
        sharing = [k for k, (t, _) in sections.items() if t == title]
        listed.update(sharing)
        for sibling in sharing:
            yield (f"{prefix}{sibling}", "section", default if sibling == key else "",
                   properties[sibling].get("description", ""))
        shared_path = prefix + (key if len(sharing) == 1 else "{" + ",".join(sharing) + "}")
        names.sections[title] = shared_path
        yield from _rows(section, names, shared_path + ".")


def _default_text(prop: dict) -> str:
    if "default" not in prop or prop["default"] is None:
        return ""
    return f"`{json.dumps(prop['default'])}`"


def reference_markdown() -> str:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for path, kind, default, description in reference_rows():
        lines.append(f"| `{path}` | {kind} | {default} | {description.replace('|', '/')} |")
    return "\n".join(lines)


def readme_with_reference(readme: str) -> str:
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(readme):
        raise ValueError(f"the README has no {README_START} ... {README_END} block")
    block = (f"{README_START}\n<!-- generated by `make docs` from engine/config/schema.py; "
             f"do not edit by hand -->\n{reference_markdown()}\n{README_END}")
    return pattern.sub(lambda _: block, readme)


# --- make docs ------------------------------------------------------------------------------

def generated_files(root: Path) -> dict[Path, str]:
    """Every file `make docs` owns (or owns the first line of), with its generated text."""
    schema_file = root / SCHEMA_FILE
    files = {schema_file: schema_text(),
             root / "README.md": readme_with_reference((root / "README.md").read_text())}
    for config in sorted((root / "configs").rglob("*.yaml")):
        files[config] = with_schema_comment(config.read_text(), schema_comment(config, schema_file))
    return files


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path.cwd()
    stale = {path: text for path, text in generated_files(root).items()
             if not path.is_file() or path.read_text() != text}
    for path, text in stale.items():
        if "--check" in argv:
            print(f"stale: {path.relative_to(root)} (run `make docs`)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(root)}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main())
