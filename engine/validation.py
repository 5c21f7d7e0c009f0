"""`trainer validate`: everything `fit` checks before training, plus one batch through the
model and its loss, without writing anything."""
from __future__ import annotations

import torch

from .components import build_components
from .config import LoadedExperiment
from .data import make_batches
from .errors import ConfigError
from .loop.device import resolve_device


def validate_experiment(experiment: LoadedExperiment) -> str:
    cfg = experiment.config
    from .callbacks import build_callbacks
    build_callbacks(cfg.fit.callbacks)
    components = build_components(experiment, resolve_device("cpu"))
    recipe = components.recipe
    split = components.data.train or components.data.test
    if split is None:
        raise ConfigError("the config has no training or test data", "data")
    batch = next(make_batches(split.slice(0, cfg.fit.batch_size), cfg.fit.batch_size,
                              components.device).epoch(0))
    with torch.no_grad():
        for model in components.models.values():
            model.eval()
        try:
            logs = recipe.test_step(batch) if recipe.implements("test_step") else {}
            {k: float(v) for k, v in logs.items()}
        except (RuntimeError, ValueError, IndexError) as exc:
            raise ConfigError(f"one batch through the model and loss failed: "
                              f"{str(exc).splitlines()[0]}", "model") from None
    params = sum(p.numel() for m in components.models.values() for p in m.parameters())
    sizes = ", ".join(f"{name} {len(s)}" for name in ("train", "validation", "test")
                      if (s := getattr(components.data, name)) is not None)
    return f"{params:,} parameters; {sizes} samples; one batch checked"
