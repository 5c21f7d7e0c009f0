"""`trainer validate`: everything `fit` checks before training, plus one batch through the
model and its loss, without writing anything."""
from __future__ import annotations

import torch

from .callbacks import build_callbacks
from .components import build_components, config_dirs
from .config import LoadedExperiment
from .data import first_batch
from .errors import ConfigError
from .loop.device import resolve_device
from .search_path import config_search_dirs


def validate_experiment(experiment: LoadedExperiment) -> str:
    cfg = experiment.config
    with config_search_dirs(*config_dirs(experiment)):
        build_callbacks(cfg.fit.callbacks)
    components = build_components(experiment, resolve_device("cpu"))
    recipe = components.recipe
    split = components.data.train or components.data.test
    if split is None:
        raise ConfigError("the config has no training or test data", "data")
    batch = first_batch(split, cfg.fit.batch_size, components.device)
    with torch.no_grad():
        for model in components.models.values():
            model.eval()
        try:
            if recipe.implements("test_step"):
                checked = "one batch through the model and loss"
                for value in recipe.test_step(batch).values():
                    float(value)
            else:  # e.g. the GAN: no loss to evaluate without training
                checked = "one batch through the model"
                components.models[components.main_model](batch.x)
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            # TypeError: e.g. a user component given an argument of the wrong type.
            raise ConfigError(f"{checked} failed: {str(exc).splitlines()[0]}", "model") from None
    params = sum(p.numel() for m in components.models.values() for p in m.parameters())
    sizes = ", ".join(f"{name} {len(s)} {getattr(s, 'unit', 'samples')}"
                      for name in ("train", "validation", "test")
                      if (s := getattr(components.data, name)) is not None)
    classes = components.data.class_names
    named = f"; classes {', '.join(classes)}" if classes else ""
    return f"{params:,} parameters; {sizes}{named}; {checked} checked"
