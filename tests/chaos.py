"""The chaos suite (`make chaos`; a reduced one runs in the test suite): runs killed with
SIGKILL at many moments and re-run until they finish, and damaged checkpoints handed to
`fit` and `evaluate`. Every run must end with weights, optimizer state and history equal to
an uninterrupted run's, never resume from a bad checkpoint, and lose at most one checkpoint
interval of work per kill. Prints a table and writes it as JSON.

Each `trainer` invocation is a fork of this process (torch imported once), running the real
CLI; kills are real SIGKILLs, delivered either from inside at a named moment of the run
(tests/chaos_killer.py: every hook and every step of every atomic write) or by this process
at a random time."""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from chaos_killer import PHASES  # noqa: E402

from trainer.cli.main import app  # noqa: E402
from trainer.engine.errors import CheckpointError  # noqa: E402
from trainer.engine.state.store import CheckpointStore  # noqa: E402
from trainer.engine.state.verify import verify  # noqa: E402

TORCH_WORDS = ("torch", "weights_only", "Traceback", "pickle", "zipfile", "PytorchStreamReader")


def _mlp(samples: int, epochs: int, every: int, test: int) -> str:
    return f"""
name: chaos_mlp
seed: 3
device: cpu
deterministic: true
data:
  train: {{source: synthetic, generator: classification, samples: {samples}, features: 6,
           classes: 3, noise: 2.0, seed: 1}}
  test: {{source: synthetic, generator: classification, samples: {test}, features: 6,
          classes: 3, noise: 2.0, seed: 2}}
model:
  inputs: {{x: [6]}}
  layers:
    - {{type: Dense, units: 16, activation: relu}}
    - {{type: Dropout, rate: 0.2}}
    - {{type: Dense, units: 3, activation: softmax}}
compile:
  optimizer: {{type: Adam, learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
  metrics: [sparse_categorical_accuracy]
fit:
  batch_size: 16
  epochs: {epochs}
  validation_split: 0.25
  checkpoint_every: {every}
  callbacks:
    - {{type: EarlyStopping, monitor: val_loss, patience: 3}}
    - {{type: ReduceLROnPlateau, monitor: val_loss, patience: 1, factor: 0.5}}
    - {{type: ModelCheckpoint, monitor: val_loss, save_best_only: true}}
    - {{type: CSVLogger, filename: epochs.csv}}
    - {{type: chaos_killer.py:ChaosKiller}}
"""


HDF5 = """
name: chaos_hdf5
seed: 4
device: cpu
deterministic: true
data:
  memory_budget: 2048          # far below the file: the split streams from it
  train: {source: hdf5, path: d.h5}
model:
  inputs: {x: [4]}
  layers:
    - {type: Dense, units: 8, activation: tanh}
    - {type: Dense, units: 1}
compile:
  optimizer: {type: SGD, learning_rate: 0.05, momentum: 0.9}
  loss: mse
fit:
  batch_size: 16
  epochs: 3
  validation_split: 0.2
  checkpoint_every: 4
  callbacks:
    - {type: chaos_killer.py:ChaosKiller}
"""

GAN_SETS = ["data.train.limit=96", "fit.batch_size=32", "fit.epochs=3", "fit.checkpoint_every=2",
            "device=cpu", "deterministic=true",
            "models.discriminator.layers[0].filters=4", "models.discriminator.layers[2].filters=4",
            "models.generator.layers[0].units=196", "models.generator.layers[2].target_shape=[4, 7, 7]",
            "models.generator.layers[3].filters=4", "models.generator.layers[5].filters=4",
            "fit.callbacks=[{type: chaos_killer.py:ChaosKiller}]"]


@dataclass
class Setup:
    name: str
    every: int                 # checkpoint interval in steps: the most work a kill may lose
    run: str                   # run directory name under runs/
    files: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    data: bool = False         # write d.h5


def setups(full: bool) -> list[Setup]:
    mlp = Setup("mlp (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, CSVLogger)", 3,
                "chaos_mlp", {"c.yaml": _mlp(samples=256 if full else 128,
                                             epochs=5 if full else 3, every=3,
                                             test=256 if full else 48)})
    if not full:
        return [mlp]
    gan_config = (HERE.parent / "configs/gan_mnist.yaml").read_text()
    return [mlp,
            Setup("hdf5 streamed", 4, "chaos_hdf5", {"c.yaml": HDF5}, data=True),
            Setup("gan recipe", 2, "gan_mnist", {"c.yaml": gan_config},
                  [a for s in GAN_SETS for a in ("--set", s)])]


# --- running trainer in a forked child ---------------------------------------------------

@dataclass
class Invocation:
    code: int
    output: str
    phase: str
    step: int


class Runner:
    def __init__(self, root: Path):
        self.shared = root / "shared.bin"
        self.shared.write_bytes(bytes(12))

    def __call__(self, folder: Path, args: list[str], env: dict[str, str] | None = None,
                 kill_after: float | None = None) -> Invocation:
        self.shared.write_bytes(bytes(12))
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._child(folder, args, {**(env or {}), "CHAOS_SHARED": str(self.shared)})
        timer = None
        if kill_after is not None:
            timer = threading.Timer(kill_after, _kill_if_alive, (pid,))
            timer.start()
        _, status = os.waitpid(pid, 0)
        if timer is not None:
            timer.cancel()
            timer.join()
        phase, step, seen = struct.unpack("<iii", self.shared.read_bytes())
        return Invocation(os.waitstatus_to_exitcode(status), (folder / "out.txt").read_text(),
                          PHASES[phase] if seen else "start-up", step)

    @staticmethod
    def _child(folder: Path, args: list[str], env: dict[str, str]) -> None:
        code = 1
        try:
            os.chdir(folder)
            out = os.open("out.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.environ.update(env)
            try:
                app([str(a) for a in args], prog_name="trainer")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def _kill_if_alive(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- comparing a run with the uninterrupted one ------------------------------------------

def _flat(value, prefix=""):
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}/{key}").items()}
    if isinstance(value, (list, tuple)):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}/{i}").items()}
    return {prefix: value}


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    return a == b or (a != a and b != b)  # NaN equals NaN here


def _without_seconds_csv(path: Path) -> list[list[str]]:
    rows = [line.split(",") for line in path.read_text().splitlines()]
    if not rows or "seconds" not in rows[0]:
        return rows
    drop = rows[0].index("seconds")
    return [[c for i, c in enumerate(row) if i != drop] for row in rows]


def differences(run: Path, reference: Path) -> list[str]:
    """What differs between a run directory and the uninterrupted one (empty: the same)."""
    problems = []
    with h5py.File(run / "model.weights.h5") as got, h5py.File(reference / "model.weights.h5") as want:
        names = []
        want.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for name in names:
            if name not in got or not np.array_equal(got[name][()], want[name][()]):
                problems.append(f"weights differ: {name}")
    got_state = torch.load(run / "checkpoints/last.pt", weights_only=True)
    want_state = torch.load(reference / "checkpoints/last.pt", weights_only=True)
    for part in ("models", "optimizers", "scalers", "metrics", "recipe"):
        got, want = _flat(got_state.get(part)), _flat(want_state.get(part))
        if got.keys() != want.keys() or not all(_same(got[k], want[k]) for k in want):
            problems.append(f"checkpoint {part} differ")
    history = [json.loads((d / "history.json").read_text()) for d in (run, reference)]
    for h in history:
        h["history"].pop("seconds", None)
    if history[0] != history[1]:
        problems.append("history.json differs")
    for name in ("history.csv", "epochs.csv"):
        if (reference / name).exists() and \
                _without_seconds_csv(run / name) != _without_seconds_csv(reference / name):
            problems.append(f"{name} differs")
    for name in ("metrics.json",):
        if (reference / name).exists() and (run / name).read_text() != (reference / name).read_text():
            problems.append(f"{name} differs")
    state = [json.loads((d / "status.json").read_text())["state"] for d in (run, reference)]
    if state[0] != state[1]:
        problems.append(f"status {state[0]} != {state[1]}")
    return problems


# --- the suite ---------------------------------------------------------------------------

class Suite:
    def __init__(self, root: Path, seed: int):
        self.root = root
        self.rng = random.Random(seed)
        self.runner = Runner(root)
        self.kills: list[dict] = []
        self.runs: list[dict] = []
        self.damaged: list[dict] = []
        self.failures: list[str] = []

    def folder(self, setup: Setup, label: str) -> Path:
        folder = self.root / f"{setup.run}-{label}"
        folder.mkdir(parents=True)
        shutil.copy(HERE / "chaos_killer.py", folder)
        for name, text in setup.files.items():
            (folder / name).write_text(text)
        if setup.data:
            rng = np.random.default_rng(0)
            x = rng.normal(size=(240, 4)).astype(np.float32)
            with h5py.File(folder / "d.h5", "w") as handle:
                handle.create_dataset("x", data=x, chunks=(8, 4))
                handle.create_dataset("y", data=(x @ [[1.0], [-2.0], [0.5], [0.0]]).astype(np.float32))
        return folder

    def fit(self, setup: Setup, folder: Path, env=None, kill_after=None) -> Invocation:
        return self.runner(folder, ["fit", "c.yaml", "--quiet", *setup.args], env, kill_after)

    def reference(self, setup: Setup) -> tuple[Path, Path, int, float]:
        folder = self.folder(setup, "reference")
        started = time.monotonic()
        result = self.fit(setup, folder, {"CHAOS_RECORD": str(folder / "moments.jsonl")})
        seconds = time.monotonic() - started
        if result.code != 0:
            raise SystemExit(f"reference run of {setup.name} failed:\n{result.output}")
        keys = [json.loads(line)[0] for line in (folder / "moments.jsonl").read_text().splitlines()]
        index = {key: i for i, key in enumerate(keys)}
        (folder / "index.json").write_text(json.dumps(index))
        return folder / "runs" / setup.run, folder / "index.json", len(keys), seconds

    def killed_run(self, setup: Setup, reference: Path, index: Path, targets: list[int],
                   timer_kills: int, seconds: float, label: str) -> None:
        """One run killed at each target moment in turn (then at random times), re-run until
        it exits 0; checks every kill's outcome and the final result."""
        folder = self.folder(setup, label)
        run = folder / "runs" / setup.run
        plan = [("moment", t) for t in targets] + [("timer", None)] * timer_kills
        delivered = 0
        for how, target in plan:
            env = {"CHAOS_TARGET": str(target), "CHAOS_MOMENTS": str(index)} if target is not None else {}
            # Over the first half of a whole run's time, so that most timers land before the
            # (resumed, shorter) process finishes.
            kill_after = self.rng.uniform(0.0, seconds / 2) if how == "timer" else None
            result = self.fit(setup, folder, env, kill_after)
            if result.code == 0:
                break  # finished before the kill came (a moment a resume skips, a late timer)
            if result.code != -signal.SIGKILL:
                self.failures.append(f"{setup.name}: exit {result.code} instead of a kill:\n"
                                     f"{result.output[-2000:]}")
                return
            delivered += 1
            self._check_after_kill(setup, run, result, how)
        for _ in range(3):
            result = self.fit(setup, folder)
            if result.code == 0:
                break
        problems = [] if result.code == 0 else [f"final exit {result.code}: {result.output[-500:]}"]
        problems += differences(run, reference) if result.code == 0 else []
        problems += [f"a kill-only run fell back: {e}" for e in _events(run, "fallback")]
        self.runs.append({"config": setup.name, "kind": label, "kills": delivered, "identical": not problems,
                          "problems": problems})
        self.failures += [f"{setup.name} ({label}): {p}" for p in problems]

    def _check_after_kill(self, setup: Setup, run: Path, result: Invocation, how: str) -> None:
        report = verify(run) if (run / "config.yaml").exists() else None
        problems = report.problems if report else []
        try:
            point = CheckpointStore(run / "checkpoints").newest_good(quarantine=False)
        except CheckpointError as exc:
            point, problems = None, [*problems, str(exc)]
        resumes_at = point.state["loop"]["global_step"] if point else 0
        lost = result.step - resumes_at
        if lost > setup.every or lost < 0:
            problems.append(f"kill at step {result.step} ({result.phase}) resumes at "
                            f"{resumes_at}: {lost} steps lost (interval {setup.every})")
        self.kills.append({"config": setup.name, "how": how, "phase": result.phase,
                           "step": result.step, "lost_steps": lost, "ok": not problems})
        self.failures += [f"{setup.name}: after a kill at step {result.step} ({result.phase}): {p}"
                          for p in problems]

    def damage_cases(self, setup: Setup, base: Path, reference: Path, cases: int) -> None:
        """Copies of a killed run with last.pt damaged: evaluate refuses it (exit 2, trainer's
        own words), fit falls back to the previous checkpoint and ends as the reference. Every
        fifth case damages all checkpoints: fit refuses (exit 2), nothing changes."""
        kinds = ("truncated", "flipped bit", "zero-filled")
        for n in range(cases):
            kind = kinds[n % 3]
            folder = self.root / f"{setup.run}-damage-{n}"
            shutil.copytree(base, folder)
            run = folder / "runs" / setup.run
            checkpoints = CheckpointStore(run / "checkpoints").newest_first()
            every_one = n % 5 == 4
            details = [_damage(path, kind, self.rng) for path in
                       (checkpoints if every_one else checkpoints[:1])]
            case = {"config": setup.name, "damage": kind, "detail": details[0],
                    "all_checkpoints": every_one}
            evaluated = self.runner(folder, ["evaluate", "--ckpt", checkpoints[0]])
            case["evaluate_exit"] = evaluated.code
            case["evaluate_message"] = evaluated.output.strip().splitlines()[-1] if evaluated.output.strip() else ""
            problems = []
            if evaluated.code != 2 or "damaged checkpoint" not in evaluated.output or \
                    any(w in evaluated.output for w in TORCH_WORDS):
                problems.append(f"evaluate: exit {evaluated.code}: {evaluated.output[-300:]}")
            before = _snapshot(run / "checkpoints")
            fitted = self.fit(setup, folder)
            case["fit_exit"] = fitted.code
            if every_one:
                if fitted.code != 2 or "no good checkpoint" not in fitted.output or \
                        "--resume never" not in fitted.output or _snapshot(run / "checkpoints") != before:
                    problems.append(f"fit with no good checkpoint: exit {fitted.code}: {fitted.output[-300:]}")
                case["fit_message"] = fitted.output.strip().splitlines()[-1]
            else:
                line = next((l for l in fitted.output.splitlines() if "is unusable" in l), "")
                case["fit_message"] = line
                fallback = _events(run, "fallback")
                if fitted.code != 0:
                    problems.append(f"fit: exit {fitted.code}: {fitted.output[-500:]}")
                elif checkpoints[0].name not in line or "resuming from" not in line or \
                        len(checkpoints) < 2 or checkpoints[1].name not in line or len(fallback) != 1:
                    problems.append(f"fit did not say it fell back: {fitted.output[-500:]}")
                else:
                    problems += differences(run, reference)
                    problems += verify(run).problems
            case["ok"] = not problems
            self.damaged.append(case)
            self.failures += [f"{setup.name} damaged ({kind}, {details[0]}): {p}" for p in problems]
            shutil.rmtree(folder)


def _damage(path: Path, kind: str, rng: random.Random) -> str:
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        at = rng.randrange(len(data))
        path.write_bytes(bytes(data[:at]))
        return f"cut at byte {at} of {len(data)}"
    if kind == "flipped bit":
        at, bit = rng.randrange(len(data)), rng.randrange(8)
        data[at] ^= 1 << bit
        path.write_bytes(bytes(data))
        return f"bit {bit} of byte {at} of {len(data)}"
    if rng.random() < 0.3:  # the whole file, as a power cut after a rename without fsync leaves it
        path.write_bytes(bytes(len(data)))
        return f"all {len(data)} bytes zero"
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.choice((512, 4096)))
    data[start:end] = bytes(end - start)
    path.write_bytes(bytes(data))
    return f"bytes {start}-{end} of {len(data)} zero"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _events(run: Path, kind: str) -> list[dict]:
    path = run / "events.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["event"] == kind]


# --- the plan and the table --------------------------------------------------------------

def run_suite(full: bool, root: Path, seed: int) -> dict:
    suite = Suite(root, seed)
    started = time.monotonic()
    plan = {"moment_runs": 3, "moment_kills": 24, "timer_kills": 12, "damaged": 35} if full \
        else {"moment_runs": 1, "moment_kills": 22, "timer_kills": 0, "damaged": 20}
    for setup in setups(full):
        reference, index, moments, seconds = suite.reference(setup)
        for r in range(plan["moment_runs"]):
            targets = sorted(suite.rng.sample(range(moments), min(plan["moment_kills"], moments)))
            suite.killed_run(setup, reference, index, targets, 0, seconds, f"kills-{r}")
        if plan["timer_kills"]:
            suite.killed_run(setup, reference, index, [], plan["timer_kills"], seconds, "timer")
        base = _damage_base(suite, setup, index, moments)
        suite.damage_cases(setup, base, reference, plan["damaged"])
    return _summary(suite, full, time.monotonic() - started)


def _damage_base(suite: Suite, setup: Setup, index: Path, moments: int) -> Path:
    """A run killed two thirds of the way through: last.pt and previous ones on disk."""
    folder = suite.folder(setup, "damage-base")
    result = suite.fit(setup, folder, {"CHAOS_TARGET": str(2 * moments // 3),
                                       "CHAOS_MOMENTS": str(index)})
    assert result.code == -signal.SIGKILL, result.output
    return folder


def _summary(suite: Suite, full: bool, seconds: float) -> dict:
    by_phase = defaultdict(list)
    for kill in suite.kills:
        by_phase[kill["phase"]].append(kill)
    table = [{"phase": phase, "kills": len(kills), "ok": sum(k["ok"] for k in kills),
              "max_lost_steps": max(k["lost_steps"] for k in kills),
              "mean_lost_steps": round(sum(k["lost_steps"] for k in kills) / len(kills), 2)}
             for phase in PHASES if (kills := by_phase.get(phase))]
    damage = Counter((d["damage"], d["all_checkpoints"], d["ok"]) for d in suite.damaged)
    return {"suite": "full" if full else "reduced", "seconds": round(seconds, 1),
            "kills": len(suite.kills), "runs": suite.runs, "by_phase": table,
            "by_config": dict(Counter(k["config"] for k in suite.kills)),
            "damaged": len(suite.damaged),
            "damage_outcomes": [{"damage": kind, "all_checkpoints": every, "ok": ok, "cases": n}
                                for (kind, every, ok), n in sorted(damage.items())],
            "damaged_cases": suite.damaged, "kill_list": suite.kills,
            "failures": suite.failures}


def format_table(summary: dict) -> str:
    lines = [f"chaos suite ({summary['suite']}): {summary['kills']} SIGKILLs, "
             f"{summary['damaged']} damaged checkpoints, {summary['seconds']} s", "",
             f"{'kill moment':<18} {'kills':>5} {'ok':>5} {'lost steps max':>15} {'mean':>6}"]
    for row in summary["by_phase"]:
        lines.append(f"{row['phase']:<18} {row['kills']:>5} {row['ok']:>5} "
                     f"{row['max_lost_steps']:>15} {row['mean_lost_steps']:>6}")
    lines += ["", f"{'config':<64} {'run':<8} {'kills':>5} {'identical':>9}"]
    for run in summary["runs"]:
        lines.append(f"{run['config']:<64} {run['kind']:<8} {run['kills']:>5} "
                     f"{'yes' if run['identical'] else 'NO':>9}")
    lines += ["", f"{'damage':<14} {'which':<16} {'cases':>5} {'outcome':<40}"]
    for row in summary["damage_outcomes"]:
        which = "all checkpoints" if row["all_checkpoints"] else "last.pt"
        outcome = ("refused, exit 2, nothing changed" if row["all_checkpoints"]
                   else "evaluate exit 2; fit fell back, identical") if row["ok"] else "FAILED"
        lines.append(f"{row['damage']:<14} {which:<16} {row['cases']:>5} {outcome:<40}")
    lines += ["", f"failures: {len(summary['failures'])}"] + summary["failures"][:20]
    return "\n".join(lines)


def warm_up() -> None:
    """Import here, once, what each forked `trainer` would otherwise import again."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.figure  # noqa: F401  (curves.png)
    import trainer.engine.fit_session  # noqa: F401
    import trainer.engine.inference  # noqa: F401
    import trainer.recipes  # noqa: F401
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(False)  # its first call imports torch._inductor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reduced", action="store_true", help="the test suite's version")
    parser.add_argument("--json", type=Path, default=Path("chaos.json"))
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    warm_up()
    with tempfile.TemporaryDirectory(prefix="trainer-chaos-") as root:
        summary = run_suite(not args.reduced, Path(root), args.seed)
    args.json.write_text(json.dumps(summary, indent=2))
    print(format_table(summary))
    print(f"\nwritten: {args.json}")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
