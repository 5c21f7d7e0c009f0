"""The sweep file: which experiment to tune, the metric and its direction, the search space,
sampler, pruner and budget. Everything is checked (with key path and file:line) before any
trial starts: each range's ends are applied to the base experiment and built."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Optional, Union

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from .. import config as experiment_config
from ..components import build_models, build_optimizers
from ..errors import ConfigError
from ..metrics.compiled import CompiledMetrics
from ..preflight import validate_experiment
from ..registry import suggest
from ..config import keypath
from ..config.experiment import source_line
from ..config.loader import load_yaml
from .space import Param, parse_space

DIRECTIONS = {"minimize": "minimize", "maximize": "maximize", "min": "minimize", "max": "maximize"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MedianPrunerSpec(_Strict):
    type: Literal["median"]
    startup_trials: int = Field(5, ge=0, description="trials finished before any is pruned")
    warmup_epochs: int = Field(0, ge=0, description="epochs of a trial before it can be pruned")


class HalvingPrunerSpec(_Strict):
    type: Literal["successive_halving"]
    min_epochs: int = Field(1, ge=1, description="epochs every trial gets (Optuna min_resource)")
    reduction_factor: int = Field(3, ge=2)


class SweepFile(_Strict):
    experiment: str = Field(..., description="the base experiment file, relative to this file")
    name: Optional[str] = None
    directory: Optional[str] = Field(None, description="default sweeps/<name>")
    storage: Optional[str] = Field(None, description="Optuna RDB URL; default SQLite in the "
                                   "sweep directory")
    metric: Optional[str] = None
    direction: Literal["auto", "minimize", "maximize", "min", "max"] = "auto"
    trials: Optional[int] = Field(None, ge=1)
    timeout: Optional[float] = Field(None, gt=0, description="seconds from the study's first "
                                     "trial after which no new trial starts")
    seed: int = 0
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Union[Literal["none", "median", "successive_halving"], MedianPrunerSpec,
                  HalvingPrunerSpec] = "median"
    set: list[str] = Field(default_factory=list, description="overrides for every trial")
    space: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    source: Path
    spec: SweepFile
    params: list[Param]
    base: Path
    metric: str
    direction: str          # minimize | maximize
    directory: Path
    storage: str
    study_name: str
    trials: int | None      # None: until the timeout

    def experiment(self, values: dict[str, Any]) -> experiment_config.LoadedExperiment:
        """The base experiment with the sweep's fixed overrides and a trial's values."""
        overrides = [*self.spec.set, *(f"{path}={scalar_yaml(v)}" for path, v in values.items())]
        return experiment_config.load_experiment(self.base, overrides)

    @property
    def pruner(self) -> Any:
        spec = self.spec.pruner
        return spec if not isinstance(spec, str) else (
            MedianPrunerSpec(type="median") if spec == "median" else
            HalvingPrunerSpec(type="successive_halving") if spec == "successive_halving" else None)


def scalar_yaml(value: Any) -> str:
    """A value as `--set` parses it back (YAML; 1e-05 alone would read as a string)."""
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()


def load_sweep(path: str | Path, check: bool = True) -> Sweep:
    """Read and (unless check=False, for status of an existing sweep) validate a sweep file."""
    path = Path(path)
    data, locations = load_yaml(path)
    where = lambda key: _where(locations, key)  # noqa: E731
    if not isinstance(data, dict):
        raise ConfigError("a sweep file is a YAML mapping (experiment, space, ...)", source=str(path))
    try:
        spec = SweepFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _first_error(exc, where) from None
    params = parse_space(spec.space, where)
    name = spec.name or path.stem
    directory = Path(spec.directory or Path("sweeps") / name)
    base = path.parent / spec.experiment
    if not base.is_file():
        raise ConfigError(f"experiment file not found: {base}", "experiment", where("experiment"))
    grid = _grid_size(params, where) if spec.sampler == "grid" else None
    trials = spec.trials or grid
    if trials is None and spec.timeout is None:
        raise ConfigError("give trials (a number) or timeout (seconds), or both", "trials",
                          where(""))
    storage = spec.storage or f"sqlite:///{(directory / 'study.db').resolve()}"
    sweep = Sweep(path, spec, params, base, "", "", directory, storage, name, trials)
    base_experiment = _with_fixed_overrides(sweep, where)
    sweep = replace(sweep, metric=spec.metric or default_metric(base_experiment))
    if check:
        _check_params(sweep, where)
    return replace(sweep, direction=_direction(sweep, base_experiment, where))


def _first_error(exc: pydantic.ValidationError, where: Any) -> ConfigError:
    error = exc.errors()[0]
    loc = [p for p in error["loc"] if not str(p).startswith(("literal", "function"))]
    key = keypath.join(loc)
    if error["type"] == "extra_forbidden" and len(loc) == 1:
        valid = list(SweepFile.model_fields)
        message = f"unknown key '{loc[0]}'{suggest(str(loc[0]), valid)}; valid keys: {', '.join(valid)}"
    elif error["type"] == "missing":
        message = "this key is required"
    else:
        message = error["msg"].lower()
    return ConfigError(message, key, where(key))


def default_metric(experiment: experiment_config.LoadedExperiment) -> str:
    """What EarlyStopping/ModelCheckpoint of the experiment monitor, else val_loss (or loss)."""
    for callback in experiment.config.fit.callbacks:
        if isinstance(callback, dict) and callback.get("monitor"):
            return callback["monitor"]
    return "val_loss" if has_validation(experiment) else "loss"


def has_validation(experiment: experiment_config.LoadedExperiment) -> bool:
    cfg = experiment.config
    return cfg.data.validation is not None or bool(cfg.fit.validation_split)


def _with_fixed_overrides(sweep: Sweep, where: Any) -> experiment_config.LoadedExperiment:
    try:
        return sweep.experiment({})
    except ConfigError as exc:
        if exc.source and exc.source.startswith("--set"):
            raise ConfigError(exc.message, f"set ({exc.key_path})", where("set")) from None
        raise


def _check_params(sweep: Sweep, where: Any) -> None:
    """Each end of each range on the base experiment: the schema, the models and optimizers;
    then everything `trainer validate` checks, with every parameter at its first value."""
    for param in sweep.params:
        key = f"space.{param.path}"
        for value in param.corners():
            try:
                experiment = sweep.experiment({param.path: value})
                build_optimizers(experiment.config.compile, build_models(experiment))
            except ConfigError as exc:
                raise ConfigError(f"with {param.path}={scalar_yaml(value)}: {exc.message}", key,
                                  where(key)) from None
    first = {p.path: p.corners()[0] for p in sweep.params}
    try:
        validate_experiment(sweep.experiment(first))
    except ConfigError as exc:
        raise ConfigError(f"the base experiment with the space's first values: {exc}", "experiment",
                          where("experiment")) from None
    if sweep.metric.startswith("val_") and not has_validation(sweep.experiment({})):
        raise ConfigError(f"'{sweep.metric}' needs validation data, and the experiment has none "
                          f"(data.validation or fit.validation_split)", "metric", where("metric"))


def _direction(sweep: Sweep, experiment: experiment_config.LoadedExperiment, where: Any) -> str:
    if sweep.spec.direction != "auto":
        return DIRECTIONS[sweep.spec.direction]
    for callback in experiment.config.fit.callbacks:
        if isinstance(callback, dict) and callback.get("monitor") == sweep.metric \
                and callback.get("mode") in ("min", "max"):
            return DIRECTIONS[callback["mode"]]
    base = sweep.metric.removeprefix("val_")
    if base == "loss" or base.endswith("_loss"):
        return "minimize"
    cfg = experiment.config
    outputs = next(iter(build_models(experiment).values())).output_names
    metrics = CompiledMetrics.from_config(cfg.compile.metrics, cfg.compile.weighted_metrics, outputs)
    found = metrics.all[base] if base in metrics.all else None
    if found is None:
        raise ConfigError(f"cannot tell whether '{sweep.metric}' should go up or down; set "
                          f"direction: minimize or direction: maximize", "metric", where("metric"))
    return "maximize" if found.direction == "up" else "minimize"


def _grid_size(params: list[Param], where: Any) -> int:
    size = 1
    for param in params:
        values = param.grid()
        if values is None:
            key = f"space.{param.path}"
            raise ConfigError("the grid sampler needs choice, int or uniform-with-step ranges",
                              key, where(key))
        size *= len(values)
    return size


def _where(locations: dict[str, str], key: str) -> str | None:
    """The space's keys are key paths themselves: `space.model.layers[0].units` is one key."""
    if key.startswith("space.") and key in locations:
        return locations[key]
    return source_line(locations, keypath.split(key) if key else [])
