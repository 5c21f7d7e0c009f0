"""`trainer import-keras`: a `.keras` file -> DIR/experiment.yaml (model and compile sections,
`data: {}` to fill in) and DIR/imported.pt (a weights-only trainer checkpoint that `evaluate`,
`predict`, `export` and `fit --resume` take). Nothing is written unless every layer, argument
and weight converts; otherwise every unsupported item is listed."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from ..components import build_models
from ..config import resolve_experiment
from ..errors import KerasImportError
from ..state.atomic import atomic_write_text
from ..state.checkpoint import save_checkpoint
from .archive import read_archive
from .compile_section import compile_section
from .graph import GraphImport
from .topology import walk, weight_groups

EXPERIMENT, WEIGHTS = "experiment.yaml", "imported.pt"


@dataclass
class ImportReport:
    experiment: Path
    weights: Path
    layers: int
    parameters: int


def import_keras(path: Path, output_dir: Path) -> ImportReport:
    path, output_dir = Path(path), Path(output_dir)
    archive = read_archive(path)
    graph = GraphImport({layer: archive.weights.get(group, [])
                         for layer, group in weight_groups(archive.model).items()})
    outputs = walk(archive.model, graph)
    problems = graph.problems
    model = graph.model_section(outputs) if outputs and not problems else None
    names = [t.name for t in outputs]
    compile_cfg = compile_section(archive.model.get("compile_config"), names, problems)
    if problems or model is None:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise KerasImportError(f"{path}: cannot import {len(problems)} item(s) trainer does "
                               f"not support:\n{listed}")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", archive.model["config"].get("name") or path.stem)
    config = {"name": name, "data": {}, "model": model}
    if compile_cfg:
        config["compile"] = compile_cfg
    experiment_path, weights_path = output_dir / EXPERIMENT, output_dir / WEIGHTS
    for target in (experiment_path, weights_path):
        if target.exists():
            raise KerasImportError(f"{target} already exists; choose another --output folder")
    experiment = resolve_experiment(config, {}, source=experiment_path.resolve())
    built = next(iter(build_models(experiment).values()))
    state = {k: torch.from_numpy(v) for k, v in graph.state.items()}
    try:
        built.load_state_dict(state)
    except RuntimeError as exc:
        raise KerasImportError(f"{path}: the converted weights do not fit the model: "
                               f"{str(exc).splitlines()[0]}") from None
    output_dir.mkdir(parents=True, exist_ok=True)
    header = (f"# Imported from {path.name} by `trainer import-keras`"
              f"{f' (Keras {archive.keras_version})' if archive.keras_version else ''}.\n"
              f"# Weights: {WEIGHTS} beside this file (trainer evaluate/predict/export --ckpt, "
              f"or fit --resume to fine-tune).\n# Inputs and outputs are Keras's arrays "
              f"(channels-last); fill in `data` to evaluate or train.\n")
    text = header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None)
    atomic_write_text(experiment_path, text)
    save_checkpoint(weights_path, {"config": experiment.resolved, "config_hash": experiment.hash,
                                   "config_source": str(experiment_path.resolve()),
                                   "models": {"model": built.state_dict()}})
    return ImportReport(experiment_path, weights_path, len(model["layers"]),
                        sum(p.numel() for p in built.parameters()))
