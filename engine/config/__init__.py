"""Experiment configs: YAML with source lines, ${ENV} interpolation, --set overrides,
validation against the schema, and the resolved config's hash. Knows nothing of torch."""
from .experiment import LoadedExperiment, config_diff, config_hash, load_experiment, resolve_experiment
from .schema import Experiment

__all__ = ["Experiment", "LoadedExperiment", "config_diff", "config_hash", "load_experiment",
           "resolve_experiment"]
