"""Experiment -> the objects a run needs: models, optimizers, compiled loss and metrics, the
recipe, and the data splits. Everything that can be wrong in a config or its data fails here,
before a run directory is touched."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import LoadedExperiment
from .data import DataSplits, check_data_fits, check_targets, load_data
from .errors import ConfigError
from .graph import GraphModel, build_model
from .losses import CompiledLoss
from .metrics import CompiledMetrics
from .loop.precision import grad_scaler
from .optim import TrainOptimizer, build_optimizer
from .recipe import RECIPES, Recipe
from .registry import check_arguments, split_spec
from .search_path import config_search_dirs


@dataclass
class Components:
    experiment: LoadedExperiment
    models: dict[str, GraphModel]
    optimizers: dict[str, TrainOptimizer]
    recipe: Any
    data: DataSplits
    device: torch.device

    @property
    def main_model(self) -> str:
        return next(iter(self.models))


def build_models(experiment: LoadedExperiment) -> dict[str, GraphModel]:
    cfg = experiment.config
    if cfg.model is not None and cfg.models is not None:
        raise experiment.config_error("give either 'model' or 'models', not both", "models")
    if cfg.model is None and not cfg.models:
        raise experiment.config_error("the config needs a 'model' (or 'models' for a recipe)", "model")
    try:
        with config_search_dirs(*config_dirs(experiment)):
            return _build_models(cfg)
    except ConfigError as exc:  # graph errors: add the file:line of the key they name
        raise experiment.config_error(exc.message, exc.key_path) from None


def config_dirs(experiment: LoadedExperiment) -> tuple[Path, ...]:
    """Where `file.py:Name` references are looked up first: next to the config (then the cwd)."""
    return (experiment.source.resolve().parent,) if experiment.source else ()


def _build_models(cfg: Any) -> dict[str, GraphModel]:
    if cfg.model is not None:
        return {"model": build_model(cfg.model, "model")}
    return {name: build_model(spec, f"models.{name}") for name, spec in cfg.models.items()}


def build_components(experiment: LoadedExperiment, device: torch.device,
                     splits: tuple[str, ...] = ("train", "validation", "test"),
                     data_state: dict[str, Any] | None = None) -> Components:
    """`file.py:Name` components are looked up next to the config file, then in the cwd.
    `data_state` holds fitted transform statistics from a checkpoint."""
    try:
        with config_search_dirs(*config_dirs(experiment)):
            return _build_components(experiment, device, splits, data_state)
    except ConfigError as exc:  # add the file:line of the key the error names
        if exc.source is not None or not exc.key_path:
            raise
        raise experiment.config_error(exc.message, exc.key_path) from None


def _build_components(experiment: LoadedExperiment, device: torch.device,
                      splits: tuple[str, ...], data_state: dict[str, Any] | None) -> Components:
    cfg = experiment.config
    recipe_cls, options = recipe_class(experiment)
    models = recipe_models(experiment, recipe_cls, build_models(experiment))
    main = models[next(iter(models))]
    units = [shape[-1] for shape in main.output_shapes.values() if shape]
    data = load_data(cfg.data, cfg.fit, main.input_names,
                     recipe_cls.target_outputs(main.output_names, options), splits, data_state,
                     output_units=units[0] if len(units) == 1 else None, seed=cfg.seed)
    check_data_fits(data, main)
    if recipe_cls.needs_targets:
        check_targets(data)
    if data.validation is not None and not recipe_cls.implements("test_step"):
        raise experiment.config_error(
            f"recipe {recipe_cls.__name__} has no test_step, so it cannot validate; remove "
            f"data.validation and fit.validation_split", "fit.validation_split")

    loss = metrics = None
    if cfg.compile.loss is not None:
        loss = CompiledLoss.from_config(cfg.compile.loss, cfg.compile.loss_weights, main.output_names)
    if loss is not None or cfg.compile.metrics or cfg.compile.weighted_metrics:
        metrics = CompiledMetrics.from_config(
            cfg.compile.metrics, cfg.compile.weighted_metrics, main.output_names,
            recipe_cls.logged_losses(main.output_names, loss, options))
    if loss is not None:
        loss.check_outputs(main.output_shapes)
    if metrics is not None:
        metrics.check_outputs(main.output_shapes)
    for model in models.values():
        model.to(device)
    if metrics is not None:
        metrics.to(device)
    optimizers = build_optimizers(cfg.compile, models, cfg.precision, device)
    missing = [n for n in recipe_cls.optimizer_names if n not in optimizers]
    if missing:
        raise experiment.config_error(
            f"recipe {recipe_cls.__name__} needs an optimizer for {', '.join(missing)} (give "
            f"compile.optimizers: {{model name: optimizer}})", "compile.optimizers")
    recipe = recipe_cls(models=models, optimizers=optimizers, loss=loss, metrics=metrics, **options)
    return Components(experiment, models, optimizers, recipe, data, device)


RECIPE_CONTEXT = ("models", "optimizers", "loss", "metrics")


def recipe_class(experiment: LoadedExperiment) -> tuple[type, dict[str, Any]]:
    """The recipe class and its checked arguments (`recipe:` mapping keys, then `recipe_args`)."""
    cfg = experiment.config
    name, spec_args = split_spec(cfg.recipe, "recipe", "recipe")
    try:
        cls = RECIPES.lookup(name, "recipe.type" if isinstance(cfg.recipe, dict) else "recipe")
    except ConfigError as exc:
        raise experiment.config_error(exc.message, exc.key_path) from None
    if not (isinstance(cls, type) and issubclass(cls, Recipe)):
        raise experiment.config_error(f"'{name}' is not a recipe (a subclass of "
                                      f"trainer.recipes.Recipe)", "recipe")
    for key_path, args in (("recipe", spec_args), ("recipe_args", cfg.recipe_args)):
        check_arguments(cls, args, key_path, f"recipe {cls.__name__}", RECIPE_CONTEXT)
    return cls, {**spec_args, **cfg.recipe_args}


def recipe_models(experiment: LoadedExperiment, recipe_cls: type, models: dict[str, GraphModel]
                  ) -> dict[str, GraphModel]:
    """The models in the recipe's order (its first model is the one the data feeds)."""
    missing = [n for n in recipe_cls.model_names if n not in models]
    if missing:
        needs = ", ".join(recipe_cls.model_names)
        raise experiment.config_error(
            f"recipe {recipe_cls.__name__} needs models named {needs} (under 'models:'; "
            f"'model:' is the model named 'model'); the config has {', '.join(models)}",
            "models" if experiment.config.models else "model")
    return {n: models[n] for n in (*recipe_cls.model_names,
                                   *(n for n in models if n not in recipe_cls.model_names))}


def build_optimizers(compile_cfg: Any, models: dict[str, nn.Module], precision: str = "32",
                     device: torch.device | None = None) -> dict[str, TrainOptimizer]:
    """`compile.optimizers: {name: spec}` gives model `name` its own optimizer; otherwise one
    `optimizer` updates every model's parameters. Each gets its fp16 gradient scaler here."""
    scaler = lambda: grad_scaler(precision, device or torch.device("cpu"))  # noqa: E731
    if compile_cfg.optimizers:
        out = {}
        for name, spec in compile_cfg.optimizers.items():
            if name not in models:
                raise ConfigError(f"optimizer '{name}' names no model (models: {', '.join(models)})",
                                  f"compile.optimizers.{name}")
            out[name] = build_optimizer(spec, models[name].parameters(),
                                        f"compile.optimizers.{name}", scaler())
        return out
    params = [p for m in models.values() for p in m.parameters()]
    return {"optimizer": build_optimizer(compile_cfg.optimizer, params, "compile.optimizer",
                                         scaler())}
