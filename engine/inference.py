"""Evaluate and predict with a checkpoint (or an export: safetensors; ONNX for predict): rebuild its experiment (its own stored config, or the
user's `--config`; `--data FILE` swaps the test split), load the weights, run the recipe's
test/predict step. Without a checkpoint, the config's models as `fit` would start them (seeded,
untrained), as Keras evaluates a compiled model before training. Predict applies the config's
input transforms unless the inputs are `preprocessed`, and warns about inputs that cannot be raw
data like the training inputs. Also the model of a checkpoint for `trainer summary --ckpt`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .components import build_components, build_models
from .config import LoadedExperiment, resolve_experiment
from .data import ArraySplit, make_batches, transform_inputs
from .data.checks import check_shapes
from .data.prediction_files import read_inputs
from .data.raw_inputs import unlike_raw
from .errors import ConfigError
from .export.serving import is_onnx_export, predict_onnx_file, read_model_state
from .loop.device import resolve_device
from .loop.evaluate import evaluate_batches, predict_batches
from .state.checkpoint import load_model_weights
from .state.rng import seed_everything

SPLITS = ("test", "validation", "train")
DATA_SOURCES_BY_SUFFIX = {".npz": "npz", ".npy": "npy", ".h5": "hdf5", ".hdf5": "hdf5",
                          ".csv": "csv"}


def experiment_of(state: dict[str, Any], config: LoadedExperiment | None = None,
                  test_file: Path | None = None) -> LoadedExperiment:
    """The checkpoint's own config (or `config`); with `test_file`, data.test reads that file
    (format from its suffix). Its `file.py:Name` components are looked up next to the config
    file the run started from."""
    if config is None:
        source = state.get("config_source")
        config = resolve_experiment(state["config"], {}, source=Path(source) if source else None)
    if test_file is None:
        return config
    resolved = dict(config.resolved)
    test = dict(resolved["data"].get("test") or {})
    test.update({"source": DATA_SOURCES_BY_SUFFIX.get(test_file.suffix.lower(), "npz"),
                 "path": str(test_file)})
    test.pop("split", None)
    resolved["data"] = {**resolved["data"], "test": test}
    return resolve_experiment(resolved, {}, source=config.source)


def checkpoint_models(checkpoint_path: Path) -> tuple[LoadedExperiment, dict[str, Any]]:
    """The experiment of a checkpoint (or safetensors export) and its models as built (weights
    not loaded)."""
    experiment = experiment_of(read_model_state(checkpoint_path))
    return experiment, build_models(experiment)


def checkpoint_class_names(checkpoint_path: Path) -> list[str] | None:
    """What a checkpoint's (or a safetensors export's) integer labels mean (an image folder's
    classes), if it says; an ONNX export does not say."""
    if is_onnx_export(checkpoint_path):
        return None
    return (read_model_state(checkpoint_path).get("data") or {}).get("class_names")


def load_for_inference(checkpoint_path: Path | None, config: LoadedExperiment | None,
                       device: str | None, splits: tuple[str, ...], test_file: Path | None = None
                       ) -> tuple[Any, LoadedExperiment]:
    """Components in eval mode with the weights of a checkpoint or safetensors export (or, with
    no checkpoint, `config`'s models as fit starts them)."""
    if checkpoint_path is None:  # the models as fit starts them: built after seeding, untrained
        if config is None:
            raise ConfigError("give --ckpt PATH, or --config CONFIG to use the model before training")
        experiment = experiment_of({}, config, test_file)
        seed_everything(experiment.config.seed)
        components = build_components(
            experiment, resolve_device(device or experiment.config.device), splits)
        for model in components.models.values():
            model.eval()
        return components, experiment
    state = read_model_state(checkpoint_path)
    experiment = experiment_of(state, config, test_file)
    components = build_components(experiment, resolve_device(device or experiment.config.device),
                                  splits, state.get("data"))
    load_model_weights(components.models, state, str(checkpoint_path))
    for model in components.models.values():
        model.eval()
    return components, experiment


def evaluate_checkpoint(checkpoint_path: Path | None, config: LoadedExperiment | None = None,
                        split: str = "test", batch_size: int | None = None,
                        device: str | None = None, test_file: Path | None = None
                        ) -> dict[str, float]:
    if split not in SPLITS:
        raise ConfigError(f"--split must be {', '.join(SPLITS)}, got '{split}'")
    if test_file is not None:
        split = "test"
    components, experiment = load_for_inference(checkpoint_path, config, device, SPLITS,
                                                test_file)
    data = getattr(components.data, split)
    if data is None:
        raise ConfigError(f"the config has no {split} split", f"data.{split}")
    cfg = experiment.config
    # The validation split in the batches fit validated with, so the numbers match its logs.
    default = cfg.batch_size_for("validation" if split == "validation" else "evaluate")
    batches = make_batches(data, batch_size or default, components.device)
    return evaluate_batches(components.recipe, batches, precision=cfg.precision)


def predict_file(checkpoint_path: Path | None, input_file: Path, batch_size: int | None = None,
                 device: str | None = None, config: LoadedExperiment | None = None,
                 preprocessed: bool = False) -> tuple[dict[str, np.ndarray], list[str]]:
    """(predictions for the inputs in `input_file` by output name (`predictions` for one),
    warnings about inputs that cannot be raw training data). Without a checkpoint, `config`'s
    untrained model, its transforms' statistics fitted on the training split. An ONNX export
    applies the transforms itself."""
    if checkpoint_path is not None and is_onnx_export(checkpoint_path):
        if preprocessed:
            raise ConfigError("an ONNX export applies the input transforms itself: give it "
                              "raw inputs (drop --preprocessed)")
        predictions, warnings = predict_onnx_file(checkpoint_path, input_file, batch_size), []
    else:
        splits = () if checkpoint_path is not None else ("train",)
        components, experiment = load_for_inference(checkpoint_path, config, device, splits)
        model = components.models[components.main_model]
        x = read_inputs(input_file, model.input_names)
        predictions, warnings = _predict(components, experiment, x, batch_size, preprocessed)
    if len(predictions) == 1:
        predictions = {"predictions": next(iter(predictions.values()))}
    return predictions, warnings


def predict_arrays(checkpoint_path: Path, x: dict[str, np.ndarray], batch_size: int | None = None,
                   device: str | None = None) -> dict[str, np.ndarray]:
    """Predictions by output name of a checkpoint (or safetensors export) for raw inputs."""
    components, experiment = load_for_inference(checkpoint_path, None, device, ())
    return _predict(components, experiment, x, batch_size, preprocessed=False)[0]


def _predict(components: Any, experiment: LoadedExperiment, x: dict[str, np.ndarray],
             batch_size: int | None, preprocessed: bool) -> tuple[dict[str, np.ndarray], list[str]]:
    cfg = experiment.config
    model = components.models[components.main_model]
    split, warnings = ArraySplit(x, None), []
    if not preprocessed:
        warnings = unlike_raw(x, components.data.raw_inputs or {})
        split = transform_inputs(split, cfg.data, model, components.data.state_dict())
    check_shapes(split, "predict", model)
    batches = make_batches(split, batch_size or cfg.batch_size_for("predict"), components.device)
    predictions = predict_batches(components.recipe, batches, cfg.precision)
    if not isinstance(predictions, dict):
        predictions = {model.output_names[0]: predictions}
    return {k: v.numpy() for k, v in predictions.items()}, warnings
