"""The experiment schema: one definition that validates configs, fills defaults and is
exported as JSON Schema (`trainer schema`).

Components (layers, losses, metrics, optimizers, callbacks, recipes) are typed loosely here
(`Component`: a name or a mapping with `type`); their arguments are checked when the registry
builds them, against the component's own signature.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..registry import suggest

Component = Union[str, dict[str, Any]]
Shape = list[Optional[int]]
KeyMap = Union[str, int, list[Union[str, int]], dict[str, Union[str, int]]]

LOSS_FORMS = ("a loss is a name or {type: name, ...}, a mapping output name -> loss, or a "
              "list of losses in output order")
METRICS_FORMS = ("metrics are a list of metrics (every output), a mapping output name -> list, "
                 "or a list of lists (one per output, in output order)")

# What the validators below check, said in JSON Schema for editors (documentation only).
INTEGER_KEY = {"pattern": r"^\s*[+-]?\d+\s*$"}
FOLDER_NAME = r"^(?!\.\.?$)[^/]+$"
IMPORT_REF = r"^.+:[A-Za-z_][A-Za-z0-9_]*$"
SOURCES = ("mnist", "npz", "npy", "hdf5", "csv", "idx", "synthetic", "image_folder", "concat")
# Signals a scheduler may send before it stops a job (SLURM: SIGUSR1 or SIGTERM).
StopSignal = Literal["SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2", "SIGHUP", "SIGQUIT", "SIGXCPU"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSpec(Section):
    """Where one split (train, validation, test) comes from."""

    source: str = Field(
        description="mnist (built in), npz, npy, hdf5, csv, idx, synthetic, image_folder, "
                    "concat (of `sources`), or a Python data source 'file.py:Name' (a "
                    "Sequence class or a generator function)",
        json_schema_extra={"anyOf": [{"enum": list(SOURCES)}, {"pattern": IMPORT_REF}]})
    split: Optional[Literal["train", "test"]] = Field(
        None, description="for source mnist: which of the two MNIST files")
    path: Optional[str] = Field(None, description="data file (npy: x file; see x_path/y_path)")
    x: Optional[KeyMap] = Field(
        None, description="input key/column, or a mapping input name -> key for several inputs")
    y: Optional[KeyMap] = Field(
        None, description="target key/column, or a mapping output name -> key for several outputs")
    sample_weight: Optional[Union[str, int]] = Field(
        None, description="per-sample weight key or column (npy/idx: a file of weights)")
    x_path: Optional[str] = Field(None, description="npy/idx: file holding the inputs")
    y_path: Optional[str] = Field(None, description="npy/idx: file holding the targets")
    header: Optional[bool] = Field(None, description="csv: first row is a header (auto-detected)")
    delimiter: str = Field(",", description="csv: column separator")
    generator: Optional[Literal["linear", "classification", "regression", "multi_io"]] = Field(
        None, description="synthetic: which generator")
    samples: Optional[int] = Field(None, gt=0, description="synthetic: number of samples")
    features: Optional[int] = Field(None, gt=0, description="synthetic: input features")
    classes: Optional[int] = Field(None, gt=1, description="synthetic: number of classes")
    noise: Optional[float] = Field(None, ge=0, description="synthetic: noise std")
    seed: Optional[int] = Field(None, description="synthetic: generator seed (default 0)")
    limit: Optional[int] = Field(None, gt=0, description="use only the first N samples")
    sources: Optional[list["SplitSpec"]] = Field(
        None, description="concat: the sources joined, in order")
    image_size: Optional[list[int]] = Field(
        None, description="image_folder: [height, width] images are resized to (default "
                          "[256, 256])")
    color_mode: Optional[Literal["grayscale", "rgb", "rgba"]] = Field(
        None, description="image_folder: channels (default rgb)")
    interpolation: Optional[Literal["bilinear", "nearest", "bicubic", "area"]] = Field(
        None, description="image_folder: resize interpolation (default bilinear)")
    crop_to_aspect_ratio: bool = Field(
        False, description="image_folder: crop to the target aspect ratio before resizing")
    labels: Optional[Union[str, list[int]]] = Field(
        None, description="image_folder: 'inferred' (one sub-folder per class, the default), "
                          "a CSV file of file,label, or a list of labels in sorted file order")
    label_mode: Optional[Literal["int", "categorical", "binary"]] = Field(
        None, description="image_folder: int class indices (default), one-hot, or 0/1 floats")
    class_names: Optional[list[str]] = Field(
        None, description="image_folder: the classes (sub-folders) to use, in label order")
    shuffle: Optional[bool] = Field(
        None, description="image_folder: shuffle the file list with seed before "
                          "validation_split cuts it (Keras's default: true)")
    validation_split: Optional[float] = Field(
        None, gt=0.0, lt=1.0, description="image_folder: fraction of files held out (with "
                                          "subset and seed, as in Keras)")
    subset: Optional[Literal["training", "validation"]] = Field(
        None, description="image_folder: which side of validation_split this split is")
    workers: Optional[int] = Field(
        None, gt=0, description="image_folder: decoding threads (default: the CPU count, "
                                "at most 8)")
    skip_bad_files: bool = Field(
        False, description="image_folder: skip unreadable image files (counted in the log) "
                           "instead of stopping with exit 2")
    args: dict[str, Any] = Field(
        {}, description="Python data source: keyword arguments for the class or function")
    steps: Optional[int] = Field(
        None, gt=0, description="Python generator source: batches per epoch")


    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value in SOURCES or re.match(IMPORT_REF, value):
            return value
        raise ValueError(f"unknown source '{value}'{suggest(value, list(SOURCES))}; expected "
                         f"{', '.join(SOURCES)}, or a Python data source 'file.py:Name'")


class DataConfig(Section):
    """Training, validation and test data, and the transforms applied to them."""

    train: Optional[SplitSpec] = Field(None, description="training data")
    validation: Optional[SplitSpec] = Field(
        None, description="validation data (else fit.validation_split)")
    test: Optional[SplitSpec] = Field(None, description="test data, evaluated after fit")
    transforms: dict[str, list[Component]] = Field(
        {},
        description="per input/target key ('x', 'y' or a name): list of transforms applied in order")
    allow_nan: bool = Field(False, description="accept NaN/inf in inputs, targets and weights")
    memory_budget: Optional[Union[int, str]] = Field(
        None, description="bytes (or '512MB', '2GiB'); HDF5 splits larger than this stream "
                          "from disk (default: a quarter of RAM)")


class ModelConfig(Section):
    """A Sequential list of layers, or a functional graph when layers name their `inputs`."""

    inputs: dict[str, Shape] = Field(
        description="input name -> shape without the batch axis; null for a variable axis")
    layers: list[Component] = Field(description="layers in order; each a Keras layer spec")
    outputs: Optional[Union[str, list[str]]] = Field(
        None, description="output layer name(s); default the last layer")


class CompileConfig(Section):
    """What Keras's model.compile takes."""

    optimizer: Component = Field("rmsprop", description="optimizer name or mapping")
    optimizers: Optional[dict[str, Component]] = Field(
        None, description="recipes with several optimizers: name -> optimizer")
    loss: Optional[Union[Component, dict[str, Optional[Component]], list[Optional[Component]]]] = Field(
        None, description="loss, output name -> loss, or a list of losses in output order")
    loss_weights: Optional[Union[dict[str, float], list[float]]] = Field(
        None, description="multi-output: weight of each output's loss (mapping or list)")
    metrics: Optional[Union[list[Union[Component, list[Component]]], dict[str, list[Component]]]] = Field(
        None, description="unweighted metrics, output name -> metrics, or one list per output")
    weighted_metrics: Optional[Union[list[Union[Component, list[Component]]],
                                     dict[str, list[Component]]]] = Field(
        None, description="metrics weighted by sample and class weights (same forms as metrics)")
    jit_compile: Union[bool, Literal["step"]] = Field(
        False, description="true: torch.compile each model (in place); step: torch.compile the "
                           "whole train step (forward, loss, backward, metrics)")
    jit_mode: Literal["default", "reduce-overhead", "max-autotune",
                      "max-autotune-no-cudagraphs"] = Field(
        "default", description="torch.compile mode; reduce-overhead uses CUDA graphs on CUDA")
    jit_backend: Literal["inductor", "aot_eager", "eager", "cudagraphs"] = Field(
        "inductor", description="torch.compile backend (aot_eager/eager: no code generation, "
                                "for debugging)")
    steps_per_execution: int = Field(
        1, gt=0, description="train steps per host iteration: batch hooks, checkpoint_every and "
                             "the interrupt check run once per execution")

    @model_validator(mode="after")
    def _mode_needs_inductor(self) -> "CompileConfig":
        if self.jit_mode != "default" and self.jit_backend != "inductor":
            raise ValueError(f"jit_mode {self.jit_mode} needs jit_backend inductor "
                             f"(got {self.jit_backend})")
        return self

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_form(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, dict, list)):
            raise ValueError(LOSS_FORMS)
        return value

    @field_validator("metrics", "weighted_metrics", mode="before")
    @classmethod
    def _metrics_form(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (dict, list)):
            raise ValueError(METRICS_FORMS)
        return value


class FitConfig(Section):
    """What Keras's model.fit takes."""

    batch_size: int = Field(32, gt=0, description="samples per step")
    epochs: int = Field(1, gt=0, description="epochs to train")
    validation_split: float = Field(
        0.0, ge=0.0, lt=1.0, description="hold out the last fraction of train (before shuffling)")
    shuffle: bool = Field(True, description="reshuffle the training data every epoch")
    class_weight: Optional[Union[dict[int, float], Literal["balanced"]]] = Field(
        None, description="class index -> weight, or 'balanced'",
        json_schema_extra=lambda schema: schema["anyOf"][0].update(propertyNames=INTEGER_KEY))
    callbacks: list[Component] = Field([], description="callbacks in order")
    steps_per_epoch: Optional[int] = Field(None, gt=0, description="steps per epoch")
    validation_steps: Optional[int] = Field(None, gt=0, description="validation steps per epoch")
    validation_freq: int = Field(1, gt=0, description="validate every N epochs")
    validation_batch_size: Optional[int] = Field(
        None, gt=0, description="validation batch size (default batch_size)")
    stop_signals: list[StopSignal] = Field(
        ["SIGTERM", "SIGINT", "SIGUSR1"],
        description="signals that stop training resumably (checkpoint, exit 75); a second one "
                    "stops at once")
    checkpoint_every: Optional[int] = Field(
        None, gt=0, description="also write checkpoints/last.pt every N batches")
    keep_checkpoints: int = Field(
        2, ge=1, description="checkpoints/last.pt plus the K-1 previous ones kept to fall "
        "back on when the newest is damaged")


class EvaluateConfig(Section):
    """`trainer evaluate` and the test-split evaluation after fit."""

    batch_size: Optional[int] = Field(None, gt=0, description="default fit.batch_size")


class PredictConfig(Section):
    """`trainer predict`."""

    batch_size: Optional[int] = Field(None, gt=0, description="default evaluate.batch_size")


class MLflowConfig(Section):
    """The MLflow logger: params, per-epoch metrics, tags and artifacts of each run."""

    tracking_uri: Optional[str] = Field(
        None, description="sqlite:///path.db, a folder, or a server URL (default: "
                          "$MLFLOW_TRACKING_URI, else sqlite:///<runs folder>/mlflow.db)")
    experiment: str = Field("trainer", description="MLflow experiment name (created when missing)")
    run_name: Optional[str] = Field(None, description="MLflow run name (default the run dir's name)")
    tags: dict[str, str] = Field({}, description="extra tags of the MLflow run")
    flush_timeout: float = Field(
        30.0, ge=0, description="seconds the end of fit waits for logs not yet sent")


class LoggersConfig(Section):
    """Experiment trackers that follow the run (rank 0 only, off the training thread)."""

    mlflow: Optional[MLflowConfig] = Field(
        None, description="log to MLflow (pip install 'trainer[mlflow]'); {} for the defaults")


class Experiment(Section):
    """A whole experiment: what `trainer fit` runs."""

    name: str = Field(description="run name; the run dir defaults to runs/<name>",
                      json_schema_extra={"pattern": FOLDER_NAME})
    seed: int = Field(0, description="seed of every random number generator")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps")
    precision: Literal["32", "bf16-mixed", "16-mixed"] = Field("32", description="numeric precision")
    deterministic: bool = Field(False, description="use deterministic algorithms only")
    channels_last: bool = Field(
        False, description="keep convolutional models in channels-last memory format (faster on "
                           "recent GPUs with mixed precision)")
    recipe: Component = Field("supervised", description="training step: a built-in name or file.py:Class")
    data: DataConfig = Field(description="data sources")
    model: Optional[ModelConfig] = Field(None, description="the model (single-model recipes)")
    models: Optional[dict[str, ModelConfig]] = Field(
        None, description="named models, for recipes with several (GAN)")
    compile: CompileConfig = Field(default_factory=CompileConfig, description="optimizer, loss, metrics")
    fit: FitConfig = Field(default_factory=FitConfig, description="training settings")
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig, description="evaluation settings")
    predict: PredictConfig = Field(default_factory=PredictConfig, description="prediction settings")
    recipe_args: dict[str, Any] = Field({}, description="extra arguments passed to the recipe")
    loggers: Optional[LoggersConfig] = Field(
        None, description="experiment trackers (MLflow); changing them does not change the run")

    def batch_size_for(self, purpose: str) -> int:
        """The one place the batch-size fallbacks are resolved: train is fit.batch_size;
        validation fit.validation_batch_size; evaluate (the test split) evaluate.batch_size;
        predict predict.batch_size, then evaluate.batch_size; each falling back to
        fit.batch_size."""
        chain = {"train": (), "validation": (self.fit.validation_batch_size,),
                 "evaluate": (self.evaluate.batch_size,),
                 "predict": (self.predict.batch_size, self.evaluate.batch_size)}[purpose]
        return next((size for size in chain if size), self.fit.batch_size)

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_as_text(cls, value: Any) -> Any:
        # `precision: 32` (unquoted YAML, or --set precision=32) means "32".
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, value: str) -> str:
        if not value or "/" in value or value in (".", ".."):
            raise ValueError("must be a plain folder name (no '/')")
        return value
