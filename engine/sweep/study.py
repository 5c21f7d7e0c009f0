"""A sweep's Optuna study: its storage (SQLite in the sweep directory, or any RDB URL that
workers on several machines share), sampler, pruner and direction."""
from __future__ import annotations

import contextlib
import fcntl
from typing import Any, Iterator

import numpy as np

from ..errors import ConfigError
from .spec import Sweep

INSTALL_HINT = "pip install 'trainer[sweep]' (Optuna)"


def optuna_module() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"trainer sweep needs Optuna: {INSTALL_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_study(sweep: Sweep, create: bool = True) -> Any:
    """The study, created on first use. Its direction is fixed then: a sweep file whose metric
    direction changed later is refused rather than mixed into the same study."""
    optuna = optuna_module()
    if not create and sweep.storage.startswith("sqlite:///") and not sweep.directory.is_dir():
        raise ConfigError(f"sweep {sweep.study_name} has not started ({sweep.directory} does not "
                          f"exist); start it with: trainer sweep {sweep.source}")
    if not create:
        return _load_study(optuna, sweep)
    # Workers started together would race to create the database tables: one at a time here.
    with sweep_lock(sweep):
        storage = _storage(optuna, sweep.storage)
        study = optuna.create_study(study_name=sweep.study_name, storage=storage,
                                    direction=sweep.direction, sampler=sampler(sweep, 0),
                                    pruner=pruner(sweep), load_if_exists=True)
    if study.direction.name.lower() != sweep.direction:
        raise ConfigError(f"the study '{sweep.study_name}' in {sweep.storage} was created to "
                          f"{study.direction.name.lower()}; this sweep file says {sweep.direction}",
                          "direction", str(sweep.source))
    return study


@contextlib.contextmanager
def sweep_lock(sweep: Sweep) -> Iterator[None]:
    """Excludes the other workers sharing this sweep directory (creating the study, claiming
    a trial); workers on other machines have their own directory and lock."""
    sweep.directory.mkdir(parents=True, exist_ok=True)
    with open(sweep.directory / ".claims.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load_study(optuna: Any, sweep: Sweep) -> Any:
    storage = _storage(optuna, sweep.storage)
    try:
        return optuna.load_study(study_name=sweep.study_name, storage=storage,
                                 sampler=sampler(sweep, 0))
    except KeyError:
        raise ConfigError(f"no study '{sweep.study_name}' in {sweep.storage} yet; start it "
                          f"with: trainer sweep {sweep.source}") from None


def _storage(optuna: Any, url: str) -> Any:
    try:
        if url.startswith("sqlite:"):
            # Several local workers write one SQLite file: wait for the lock, do not fail.
            return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
        return optuna.storages.RDBStorage(url)
    except (ImportError, ModuleNotFoundError) as exc:
        raise ConfigError(f"the storage needs a database driver: {exc}", "storage") from None
    except Exception as exc:  # SQLAlchemy's own errors: a bad URL, an unreachable server
        raise ConfigError(f"cannot open the storage {url}: {exc}", "storage") from None


def sampler(sweep: Sweep, offset: int) -> Any:
    """Seeded from (the sweep's seed, `offset` = the next trial's number), so one worker
    repeats itself exactly and workers started together do not draw the same values. Mixed
    through a SeedSequence: NumPy generators seeded 0, 1, 2, 3 draw nearly equal first values."""
    optuna = optuna_module()
    seed = int(np.random.SeedSequence([sweep.spec.seed, offset]).generate_state(1)[0])
    if sweep.spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sweep.spec.sampler == "grid":
        # Its grid order is shuffled by the seed, and trial N takes point N: one seed for all.
        return _grid_sampler(optuna, {p.path: p.grid() for p in sweep.params}, sweep.spec.seed)
    return optuna.samplers.TPESampler(seed=seed)


def _grid_sampler(optuna: Any, space: dict[str, list], seed: int) -> Any:
    class GridSampler(optuna.samplers.GridSampler):
        def after_trial(self, *args: Any) -> None:
            """Optuna's calls study.stop() once the grid is covered, which works only inside
            study.optimize; a worker stops by itself when the study has its trials."""

    return GridSampler(space, seed=seed)


def pruner(sweep: Sweep) -> Any:
    optuna = optuna_module()
    spec = sweep.pruner
    if spec is None:
        return optuna.pruners.NopPruner()
    if spec.type == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=spec.startup_trials,
                                           n_warmup_steps=spec.warmup_epochs)
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=spec.min_epochs,
                                                  reduction_factor=spec.reduction_factor)
