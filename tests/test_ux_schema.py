"""The config's JSON Schema (`trainer schema`, schema/trainer.schema.json) agrees with the
validator: it accepts every shipped config and template and rejects each bad config the
validator rejects; every key is described; the generated files (`make docs`) are not stale."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from conftest import CONFIGS, REPO
from trainer.engine.config.experiment import loads_experiment
from trainer.engine.config.docs import SCHEMA_FILE, generated_files, json_schema, schema_comment
from trainer.engine.config.docs import main as docs_main
from trainer.engine.errors import ConfigError

SHIPPED = sorted(CONFIGS.rglob("*.yaml"))
TEMPLATES = sorted((REPO / "engine" / "templates").glob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(json_schema())

GOOD = {
    "name": "ux", "data": {"train": {"source": "synthetic", "generator": "regression"}},
    "model": {"inputs": {"x": [4]}, "layers": [{"type": "Dense", "units": 1}]},
    "compile": {"loss": "mse"}, "fit": {"epochs": 1, "class_weight": {"0": 1.0, "1": 2.0}},
}

# (key path, value) replacing GOOD's; `DELETE` removes the key. Each is a config the validator
# refuses: unknown keys, wrong types, out-of-range values, bad enum values, missing keys.
DELETE = object()
BAD = [
    ("epochs", 3), ("fit.batchsize", 32), ("data.train.sourc", "mnist"), ("model.input", {}),
    ("fit.epochs", "three"), ("fit.epochs", 0), ("fit.epochs", 1.5), ("fit.batch_size", -1),
    ("fit.validation_split", 1.0), ("fit.validation_split", -0.1), ("data.train.limit", 0),
    ("data.train.classes", 1), ("data.train.noise", -1.0), ("seed", "abc"), ("seed", 0.5),
    ("precision", "64"), ("precision", 64), ("data.train.source", "parquet"),
    ("data.train.split", "dev"), ("data.train.generator", "spiral"), ("fit.shuffle", 2),
    ("data.allow_nan", "maybe"), ("compile.jit_compile", [True]), ("fit", [1, 2]),
    ("model.inputs", {"x": ["a"]}), ("model.layers", "Dense"), ("model.outputs", 3),
    ("fit.class_weight", {"cat": 2.0}), ("fit.class_weight", "balance"),
    ("fit.callbacks", "EarlyStopping"), ("compile.metrics", "mae"), ("name", "a/b"),
    ("name", ""), ("name", ".."), ("name", DELETE), ("data", DELETE), ("model.layers", DELETE),
    ("data.train.source", DELETE), ("evaluate.batch_size", 0), ("recipe", 3),
]


def _with(key_path: str, value):
    config = copy.deepcopy(GOOD)
    *parents, last = key_path.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return config


def _validator_accepts(config: dict) -> bool:
    try:
        loads_experiment(yaml.safe_dump(config))
    except ConfigError:
        return False
    return True


def test_the_schema_accepts_every_shipped_config_and_template():
    assert SHIPPED and len(TEMPLATES) == 6
    for path in [*SHIPPED, *TEMPLATES]:
        raw = yaml.safe_load(path.read_text())
        errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(raw)]
        assert errors == [], f"{path.name}: {errors}"
        assert _validator_accepts(raw), path.name


def test_the_good_base_config_passes_both():
    assert _validator_accepts(GOOD)
    assert list(VALIDATOR.iter_errors(GOOD)) == []


# Ids that name the value the same way in every process (pytest-xdist compares them).
@pytest.mark.parametrize("key_path,value", BAD,
                         ids=[f"{k}=deleted" if v is DELETE else f"{k}={v!r}" for k, v in BAD])
def test_schema_and_validator_both_reject(key_path, value):
    config = _with(key_path, value)
    assert not _validator_accepts(config), "the validator accepts it: not a bad config"
    assert list(VALIDATOR.iter_errors(config)), "the JSON Schema accepts what the validator rejects"


def test_every_key_has_a_one_line_description():
    schema = json_schema()
    sections = {"Experiment": schema, **schema["$defs"]}
    for section_name, section in sections.items():
        assert section.get("description"), section_name
        for key, prop in section["properties"].items():
            description = prop.get("description", "")
            assert description and "\n" not in description, f"{section_name}.{key}"


def test_trainer_schema_prints_the_schema_file(cli):
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads((REPO / SCHEMA_FILE).read_text())
    assert result.stdout == (REPO / SCHEMA_FILE).read_text()


def test_every_shipped_config_points_editors_at_the_schema():
    for path in SHIPPED:
        first = path.read_text().splitlines()[0]
        assert first == schema_comment(path, REPO / SCHEMA_FILE), path.name
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target == (REPO / SCHEMA_FILE).resolve() and target.is_file()


def test_generated_docs_are_not_stale(monkeypatch, capsys):
    """schema/trainer.schema.json, the configs' first lines and the README's config reference
    are what `make docs` writes from engine/config/schema.py."""
    stale = [str(p.relative_to(REPO)) for p, text in generated_files(REPO).items()
             if not p.is_file() or p.read_text() != text]
    assert stale == [], f"stale (run `make docs`): {stale}"
    monkeypatch.chdir(REPO)
    assert docs_main(["--check"]) == 0
    readme = (REPO / "README.md").read_text()
    assert "| `fit.batch_size` | integer > 0 | `32` | samples per step |" in readme
    assert "| `data.{train,validation,test}.source` |" in readme


def test_make_docs_check_reports_a_stale_readme(tmp_path, monkeypatch, capsys):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "new.yaml").write_text("name: new\n")
    (tmp_path / "README.md").write_text("intro\n<!-- config-reference:start -->\nold table\n"
                                        "<!-- config-reference:end -->\noutro\n")
    monkeypatch.chdir(tmp_path)
    assert docs_main(["--check"]) == 1
    assert "stale: README.md" in capsys.readouterr().out
    assert docs_main([]) == 0 and docs_main(["--check"]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("intro\n") and readme.endswith("outro\n") and "old table" not in readme
    assert (tmp_path / "configs/new.yaml").read_text() == (
        "# yaml-language-server: $schema=../schema/trainer.schema.json\nname: new\n")
