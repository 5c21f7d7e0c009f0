"""`trainer init`: commented starter configs (the *.yaml files beside this module), each of
which validates and trains as written."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..config.docs import SCHEMA_FILE, schema_comment, schema_text, with_schema_comment
from ..errors import TrainerError
from ..registry import suggest
from .samples import write_samples

TEMPLATES = ("mnist", "mnist_cnn", "regression", "gan", "multi_io", "image_folder")
# In a source checkout (editable install) configs point at the repository's schema file.
REPO_SCHEMA = Path(__file__).resolve().parents[2] / SCHEMA_FILE


def template_text(name: str) -> str:
    if name not in TEMPLATES:
        raise TrainerError(f"unknown template '{name}'{suggest(name, list(TEMPLATES))}; "
                           f"templates: {', '.join(TEMPLATES)}")
    return resources.files(__package__).joinpath(f"{name}.yaml").read_text()


def write_template(name: str, path: Path, overwrite: bool = False) -> list[Path]:
    """Write the template to `path`, its first line pointing editors at the config schema
    (the repository's, else a trainer.schema.json written beside it). Returns what was written."""
    text = template_text(name)
    if path.exists() and not overwrite:
        raise TrainerError(f"{path} already exists (--force overwrites it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path]
    schema = REPO_SCHEMA
    if not schema.is_file():
        schema = path.parent / SCHEMA_FILE.name
        if not schema.exists():
            schema.write_text(schema_text())
            written.append(schema)
    path.write_text(with_schema_comment(text, schema_comment(path, schema)))
    return written + write_samples(name, path.parent)
