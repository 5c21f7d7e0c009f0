"""Config loading is bounded: document size, nesting depth, nodes after YAML alias expansion
and keys each have a limit no sane config reaches; over one, exit 2 names the limit and the
environment variable that raises it. Hostile YAML is refused at once instead of hanging."""
from __future__ import annotations

import time

from conftest import CONFIGS


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nname: bomb\n"


def _validate(cli, workdir, text: str, *args: str):
    (workdir / "c.yaml").write_text(text)
    started = time.perf_counter()
    result = cli("validate", "c.yaml", *args)
    return result, time.perf_counter() - started


def test_an_alias_bomb_is_refused_by_the_node_limit(cli, workdir):
    result, seconds = _validate(cli, workdir, _alias_bomb())
    assert result.exit_code == 2
    assert "over the node limit of 100,000" in result.stderr
    assert "TRAINER_CONFIG_MAX_NODES=N" in result.stderr
    assert seconds < 30  # a hang guard only: the refusal itself takes milliseconds


def test_a_config_with_400000_keys_is_refused_by_size_or_key_count(cli, workdir, monkeypatch):
    keys = "".join(f"  key_{i:06d}: {i}\n" for i in range(400_000))
    text = "name: many\nrecipe_args:\n" + keys
    result, _ = _validate(cli, workdir, text)
    assert result.exit_code == 2
    assert "over the size limit of 1,048,576" in result.stderr
    assert "TRAINER_CONFIG_MAX_BYTES=N" in result.stderr
    monkeypatch.setenv("TRAINER_CONFIG_MAX_BYTES", str(64 << 20))
    result, _ = _validate(cli, workdir, text)
    assert result.exit_code == 2
    assert "over the key limit of 20,000" in result.stderr and "TRAINER_CONFIG_MAX_KEYS" in result.stderr


def test_deep_nesting_is_refused_and_the_limit_can_be_raised(cli, workdir, monkeypatch):
    base = (CONFIGS / "linear_regression.yaml").read_text()
    for depth in (70, 1000, 5000):
        result, _ = _validate(cli, workdir, base + "recipe_args: {deep: " + "[" * depth
                              + "1" + "]" * depth + "}\n")
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and "internal error" not in result.output
    block = base + "recipe_args:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 70))
    result, _ = _validate(cli, workdir, block)
    assert "over the nesting depth limit of 64" in result.stderr
    monkeypatch.setenv("TRAINER_CONFIG_MAX_DEPTH", "200")
    result, _ = _validate(cli, workdir, block)
    assert result.exit_code == 2 and "nesting depth" not in result.stderr  # the schema's turn
    assert "recipe_args" in result.stderr


def test_fuzz_finds_from_the_issue_are_config_errors(cli, workdir):
    base = (CONFIGS / "linear_regression.yaml").read_text()
    result, _ = _validate(cli, workdir, base.replace("seed: 0", "seed: " + "9" * 5000))
    assert result.exit_code == 2 and result.stderr.startswith("error: seed (c.yaml:7): cannot "
                                                              "read the value"), result.stderr
    result, _ = _validate(cli, workdir, base, "--set", "model.layers[0]=''")
    assert result.exit_code == 2
    assert "model.layers[0]" in result.stderr and "empty string" in result.stderr
    result, _ = _validate(cli, workdir, base + "\x84\n")
    assert result.exit_code == 2 and "YAML" in result.stderr
