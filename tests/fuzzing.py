"""Fuzz cases for untrusted input, shared by tests/test_fuzz.py and `make fuzz`.

Kinds: every shipped config mutated (typos, deleted keys, swapped types, random scalars, deep
nesting, unicode, huge numbers, cut text) through `trainer validate`; data files (npz, npy, h5,
csv, idx, gz) and checkpoints cut, bit-flipped, overwritten or replaced by random bytes,
through `evaluate --data`, `predict --input`, `validate`, `evaluate --ckpt` and `summary --ckpt`;
and checkpoints whose stored config is mutated. Every case must end in exit 0 or 2, with no
traceback, within CASE_SECONDS, and write nothing on exit 2. Runs in-process (typer's runner).

`python tests/fuzzing.py [N [KINDS]]` runs N cases (default 5,000; KINDS e.g. "config,data-npy")
and prints a summary table.
"""
from __future__ import annotations

import copy
import gzip
import os
import shutil
import struct
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from trainer.cli.main import app
from trainer.engine.data.sources.mnist import load_mnist
from trainer.engine.state.checkpoint import save_checkpoint  # sealed: a stranger can re-seal a file they edit

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "configs").glob("*.yaml"))
CASE_SECONDS = 20.0  # a generous ceiling: a hang, not a slow machine
HUGE = "9" * 5000
SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))

TINY_CONFIG = {
    "name": "tiny", "seed": 0,
    "data": {"train": {"source": "npz", "path": "data/train.npz"}},
    "model": {"inputs": {"x": [4]}, "layers": [{"type": "Dense", "units": 3,
                                                "activation": "softmax"}]},
    "compile": {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy"]},
    "fit": {"batch_size": 16, "epochs": 1},
}
IDX_CONFIG = {
    "name": "tiny_idx", "seed": 0,
    "data": {"train": {"source": "idx", "x_path": "INPUT", "y_path": "data/labels.idx"},
             "transforms": {"x": [{"scale": 0.00392156862745098}]}},
    "model": {"inputs": {"x": [2, 2]}, "layers": [{"type": "Flatten"},
                                                 {"type": "Dense", "units": 3}]},
    "compile": {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy"},
    "fit": {"batch_size": 8},
}


@dataclass
class Outcome:
    kind: str
    exit_code: int
    seconds: float
    args: list[str]
    problem: str | None = None  # why the case failed the contract, else None


@dataclass
class Stats:
    outcomes: list[Outcome] = field(default_factory=list)

    def table(self) -> str:
        by_kind: dict[str, Counter] = defaultdict(Counter)
        for o in self.outcomes:
            by_kind[o.kind]["cases"] += 1
            by_kind[o.kind]["failed" if o.problem else f"exit {o.exit_code}"] += 1
        columns = ["cases", "exit 0", "exit 2", "failed"]
        rows = [["kind", *columns]] + [[k, *(str(c[col]) for col in columns)]
                                       for k, c in sorted(by_kind.items())]
        total = Counter()
        for c in by_kind.values():
            total.update(c)
        rows.append(["total", *(str(total[col]) for col in columns)])
        widths = [max(len(r[i]) for r in rows) for i in range(len(columns) + 1)]
        lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
        seconds: dict[str, list[float]] = defaultdict(list)
        for o in self.outcomes:
            seconds[o.kind].append(o.seconds)
        lines.append("mean seconds per case: " + ", ".join(
            f"{k} {sum(v) / len(v):.3f}" for k, v in sorted(seconds.items())))
        slowest = max(self.outcomes, key=lambda o: o.seconds)
        lines.append(f"slowest case: {slowest.seconds:.2f} s ({slowest.kind}: trainer "
                     f"{' '.join(slowest.args)})")
        return "\n".join(lines)

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problem]


class Arena:
    """A working directory holding a tiny trained checkpoint, sample data files of every kind,
    and a copy of configs/ whose MNIST sources read a 64-image npz (so cases stay fast)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runner = CliRunner()
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 3, 32)
        np.savez(data / "train.npz", x=x, y=y)
        self.samples: dict[str, bytes] = {}
        np.savez(data / "s.npz", x=x, y=y)
        np.save(data / "s.npy", x)
        with h5py.File(data / "s.h5", "w") as handle:
            handle["x"], handle["y"] = x, y
        rows = "\n".join(",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(x, y))
        (data / "s.csv").write_text("a,b,c,d,y\n" + rows + "\n")
        idx = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 32, 2, 2) + \
            rng.integers(0, 255, 128, dtype=np.uint8).tobytes()
        (data / "s.idx").write_bytes(idx)
        (data / "s.gz").write_bytes(gzip.compress(idx))
        (data / "labels.idx").write_bytes(struct.pack(">BBBB", 0, 0, 0x08, 1) +
                                          struct.pack(">I", 32) + y.astype(np.uint8).tobytes())
        for suffix in ("npz", "npy", "h5", "csv", "idx", "gz"):
            self.samples[suffix] = (data / f"s.{suffix}").read_bytes()
        images, labels = load_mnist("test")
        np.savez(data / "mnist64.npz", x=images[:64], y=labels[:64])
        self.configs = self._copy_configs()
        self.tiny = self.root / "tiny.yaml"
        self.tiny.write_text(yaml.safe_dump(TINY_CONFIG))
        result = self.invoke(["fit", str(self.tiny), "--run-dir", "tiny_run", "-q"])
        assert result.exit_code == 0, result.output
        self.checkpoint = self.root / "tiny_run" / "checkpoints" / "last.pt"
        self.samples["pt"] = self.checkpoint.read_bytes()
        self.state = torch.load(self.checkpoint, weights_only=True)
        self.cases = self.root / "cases"
        self.cases.mkdir(exist_ok=True)

    def _copy_configs(self) -> dict[str, dict]:
        target = self.root / "configs"
        shutil.copytree(REPO / "configs", target, dirs_exist_ok=True)
        mnist = {"source": "npz", "path": str(self.root / "data" / "mnist64.npz")}
        out = {}
        for path in SHIPPED:
            config = yaml.safe_load(path.read_text())
            for split in ("train", "validation", "test"):
                spec = (config.get("data") or {}).get(split)
                if isinstance(spec, dict) and spec.get("source") == "mnist":
                    config["data"][split] = {**{k: v for k, v in spec.items()
                                                if k not in ("source", "split")}, **mnist}
            out[path.name] = config
        return out

    def invoke(self, args: list[str]):
        previous = Path.cwd()
        os.chdir(self.root)
        try:
            return self.runner.invoke(app, args, catch_exceptions=True)
        finally:
            os.chdir(previous)

    def snapshot(self) -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(self.root)): (p.stat().st_size, p.stat().st_mtime_ns)
                for p in self.root.rglob("*") if "__pycache__" not in p.parts}

    def run(self, kind: str, args: list[str], inputs: tuple[Path, ...] = (),
            outputs: tuple[Path, ...] = ()) -> Outcome:
        before = self.snapshot()
        started = time.perf_counter()
        result = self.invoke(args)
        seconds = time.perf_counter() - started
        text = result.stdout + result.stderr
        problem = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback
            problem = "raised " + "".join(traceback.format_exception(result.exception))[-1500:]
        elif result.exit_code not in (0, 2):
            log = self.root / "runs" / "trainer-crash.log"
            problem = f"exit {result.exit_code}: {text.strip()[-600:]}"
            if log.is_file():
                problem += "\n" + log.read_text()[-1200:]
                log.unlink()
            problem += "\n" + "\n".join(f"--- {p.name}:\n{p.read_text(errors='replace')[:3000]}"
                                        for p in inputs if p.suffix == ".yaml")
        elif "Traceback" in text:
            problem = f"traceback in the output: {text[-600:]}"
        elif seconds > CASE_SECONDS:
            problem = f"took {seconds:.1f} s"
        elif result.exit_code == 2:
            if "weights_only=False" in text or "Unpickler" in text:
                problem = f"the message quotes torch's unsafe-load advice: {text.strip()}"
            written = {p for p, v in self.snapshot().items() if before.get(p) != v}
            written -= {str(p.relative_to(self.root)) for p in inputs}
            if written:
                problem = f"exit 2 but wrote {sorted(written)}"
        for path in (*inputs, *outputs):
            path.unlink(missing_ok=True)
        return Outcome(kind, result.exit_code, seconds, args, problem)


# --- mutations -------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.just(""),
    st.just("HUGE"), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
config_mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("typo"), st.integers(0, 10 ** 6), st.text(min_size=1, max_size=3)),
    st.tuples(st.just("set"), st.integers(0, 10 ** 6), scalars),
    st.tuples(st.just("nest"), st.integers(0, 10 ** 6), st.sampled_from([2, 50, 70, 1000, 5000])),
    st.tuples(st.just("swap"), st.integers(0, 10 ** 6), st.integers(0, 10 ** 6)),
)
text_mutation = st.one_of(
    st.none(),
    st.tuples(st.just("cut"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.text(min_size=1, max_size=6)),
)
byte_mutation = st.one_of(
    st.tuples(st.just("empty")),
    st.tuples(st.just("cut"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("overwrite"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("random"), st.binary(max_size=300)),
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        out += _paths(value, (*prefix, key))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def mutate_config(config: dict, mutations: list[tuple]) -> dict:
    config = copy.deepcopy(config)
    for mutation in mutations:
        paths = _paths(config)
        if not paths:
            break
        op, path = mutation[0], paths[mutation[1] % len(paths)]
        parent, key = _parent(config, path), path[-1]
        if op == "delete":
            del parent[key]
        elif op == "typo" and isinstance(parent, dict):
            parent[f"{key}{mutation[2]}" if isinstance(key, str) else mutation[2]] = parent.pop(key)
        elif op == "set":
            parent[key] = mutation[2]
        elif op == "nest":
            parent[key] = f"NEST{mutation[2]}"
        elif op == "swap":
            other = paths[mutation[2] % len(paths)]
            if other[:len(path)] != path and path[:len(other)] != other:  # disjoint
                other_parent = _parent(config, other)
                parent[key], other_parent[other[-1]] = other_parent[other[-1]], parent[key]
    return config


def materialize(data: Any) -> Any:
    """The markers as Python objects (for a checkpoint's stored config)."""
    if isinstance(data, dict):
        return {k: materialize(v) for k, v in data.items()}
    if isinstance(data, list):
        return [materialize(v) for v in data]
    if data == "HUGE":
        return 10 ** 5000
    if isinstance(data, str) and data.startswith("NEST") and data[4:].isdigit():
        nested: Any = 1
        for _ in range(min(int(data[4:]), 300)):  # pickle itself recurses
            nested = [nested]
        return nested
    return data


def config_text(config: dict, text_op: tuple | None) -> str:
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    text = text.replace("HUGE", HUGE)
    for depth in (2, 50, 70, 1000, 5000):
        text = text.replace(f"NEST{depth}", "[" * depth + "1" + "]" * depth)
    if text_op and text_op[0] == "cut":
        text = text[: int(len(text) * text_op[1])]
    elif text_op and text_op[0] == "insert":
        at = int(len(text) * text_op[1])
        text = text[:at] + text_op[2] + text[at:]
    return text


def mutate_bytes(raw: bytes, op: tuple) -> bytes:
    if op[0] == "empty":
        return b""
    if op[0] == "cut":
        return raw[: int(len(raw) * op[1])]
    if op[0] == "random":
        return op[1]
    data = bytearray(raw)
    if op[0] == "flip":
        for where, bit in op[1]:
            data[min(int(len(data) * where), len(data) - 1)] ^= 1 << bit
    else:  # overwrite: absurd header sizes, lengths, magic numbers
        at = min(int(len(data) * op[1]), len(data) - 1)
        data[at:at + len(op[2])] = op[2]
    return bytes(data)


# --- the cases ---------------------------------------------------------------------------

class Cases:
    """One function per kind: builds the case's files in the arena and runs it."""

    def __init__(self, arena: Arena):
        self.arena = arena
        self.counter = 0

    def _file(self, name: str, content: bytes | str) -> Path:
        self.counter += 1
        path = self.arena.cases / f"{self.counter}_{name}"
        path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str)
                         else content)
        return path

    def config(self, name: str, mutations: list[tuple], text_op: tuple | None) -> Outcome:
        text = config_text(mutate_config(self.arena.configs[name], mutations), text_op)
        path = self.arena.root / "configs" / f"fuzz_{name}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return self.arena.run("config", ["validate", str(path)], inputs=(path,))

    def data(self, suffix: str, op: tuple, command: str) -> Outcome:
        path = self._file(f"data.{suffix}", mutate_bytes(self.arena.samples[suffix], op))
        ckpt = str(self.arena.checkpoint)
        if suffix in ("idx", "gz"):
            config = copy.deepcopy(IDX_CONFIG)
            config["data"]["train"]["x_path"] = str(path)
            config_path = self._file("idx.yaml", yaml.safe_dump(config))
            return self.arena.run(f"data-{suffix}", ["validate", str(config_path)],
                                  inputs=(path, config_path))
        if command == "predict":
            output = self.arena.cases / f"{self.counter}_p.npy"
            return self.arena.run(f"data-{suffix}", ["predict", "--ckpt", ckpt, "--input",
                                                     str(path), "--output", str(output)],
                                  inputs=(path,), outputs=(output,))
        return self.arena.run(f"data-{suffix}", ["evaluate", "--ckpt", ckpt, "--data", str(path)],
                              inputs=(path,))

    def checkpoint(self, op: tuple, command: str) -> Outcome:
        path = self._file("last.pt", mutate_bytes(self.arena.samples["pt"], op))
        args = ["summary", "--ckpt", str(path)] if command == "summary" else \
            ["evaluate", "--ckpt", str(path), "--split", "train"]
        return self.arena.run("checkpoint", args, inputs=(path,))

    def checkpoint_config(self, mutations: list[tuple], trusted: bool) -> Outcome:
        state = dict(self.arena.state)
        state["config"] = materialize(mutate_config(state["config"], mutations))
        path = self.arena.cases / f"{self.counter}_cfg.pt"
        self.counter += 1
        save_checkpoint(path, state)
        args = ["evaluate", "--ckpt", str(path), "--split", "train"]
        return self.arena.run("checkpoint-config", args + (["--trust-checkpoint-code"]
                                                            if trusted else []), inputs=(path,))


def case_strategy(cases: Cases, kinds: str = "") -> st.SearchStrategy:
    """A strategy of zero-argument callables, each running one case of some kind (`kinds`:
    a comma-separated subset, e.g. "config,data-npy", to chase one bug)."""
    names = sorted(cases.arena.configs)
    branches = [
        st.builds(lambda n, m, t: lambda: cases.config(n, m, t), st.sampled_from(names),
                  st.lists(config_mutation, min_size=1, max_size=3), text_mutation),
        *(st.builds(lambda o, c, s=suffix: lambda: cases.data(s, o, c), byte_mutation,
                    st.sampled_from(["evaluate", "predict"]))
          for suffix in ("npz", "npy", "h5", "csv", "idx", "gz")),
        st.builds(lambda o, c: lambda: cases.checkpoint(o, c), byte_mutation,
                  st.sampled_from(["evaluate", "summary"])),
        st.builds(lambda m, t: lambda: cases.checkpoint_config(m, t),
                  st.lists(config_mutation, min_size=1, max_size=3), st.booleans()),
    ]
    names_of = ["config", *(f"data-{s}" for s in ("npz", "npy", "h5", "csv", "idx", "gz")),
                "checkpoint", "checkpoint-config"]
    wanted = set(kinds.split(",")) if kinds else set(names_of)
    return st.one_of(*(b for b, name in zip(branches, names_of) if name in wanted))


def run_fuzz(root: Path, examples: int, stats: Stats, raise_on_failure: bool,
             kinds: str = "") -> Stats:
    cases = Cases(Arena(root))

    @settings(max_examples=examples, **SETTINGS)
    @given(case_strategy(cases, kinds))
    def one(case):
        outcome = case()
        stats.outcomes.append(outcome)
        if raise_on_failure and outcome.problem:
            raise AssertionError(f"trainer {' '.join(outcome.args)}: {outcome.problem}")

    one()
    return stats


def main() -> int:
    import tempfile
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    stats = Stats()
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        run_fuzz(Path(root), examples, stats, raise_on_failure=False,
                 kinds=sys.argv[2] if len(sys.argv) > 2 else "")
        elapsed = time.perf_counter() - started
    print(stats.table())
    print(f"{len(stats.outcomes)} cases in {elapsed:.0f} s (seeded: derandomized hypothesis)")
    for failure in stats.failures()[:20]:
        print(f"FAILED trainer {' '.join(failure.args)}\n  {failure.problem}")
    return 1 if stats.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
