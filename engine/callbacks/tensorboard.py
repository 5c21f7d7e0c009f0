"""TensorBoard: Keras's callback and log layout through torch.utils.tensorboard -- epoch
scalars (train and val_ under one tag each), optional batch scalars, the learning rate, the
config as HParams, weight histograms, the model graph and embeddings. The tensorboard package
is optional: without it the callback is a config error that says how to install it."""
from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from ..config.keypath import flatten
from .base import CALLBACKS, Callback

INSTALL_HINT = ("the TensorBoard callback needs the tensorboard package, which is not "
                "installed; install it with: pip install 'trainer[tensorboard]'")
# Wrappers whose parameter names carry a prefix (DistributedDataParallel, torch.compile).
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


@CALLBACKS.register("TensorBoard")
class TensorBoard(Callback):
    """Keras layout: `<log_dir>/train` and `<log_dir>/validation`, tags `epoch_<name>` at step
    = epoch (0-based) and `batch_<name>` at step = global batch; the learning rate as
    `epoch_learning_rate`; hparams in `<log_dir>` itself. A relative log_dir is in the run dir.
    On a resume, the events the interrupted invocation wrote after the checkpoint are dropped
    from the files, so no step is written twice."""

    def __init__(self, log_dir: str = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq: str | int = "epoch", profile_batch: int = 0,
                 embeddings_freq: int = 0, embeddings_metadata: dict | None = None,
                 write_hparams: bool = True):
        if not tensorboard_installed():
            raise ValueError(INSTALL_HINT)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}")
        for name, value in (("histogram_freq", histogram_freq), ("embeddings_freq", embeddings_freq)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if write_images:
            raise ValueError("write_images is not supported (weight histograms are: "
                             "histogram_freq)")
        if profile_batch:
            raise ValueError("profile_batch is not supported: profile with torch.profiler")
        self.log_dir = log_dir
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata or {}
        self.write_hparams = write_hparams
        self.uses_batch_hooks = update_freq != "epoch"
        self.writers: dict[str, Any] = {}

    @property
    def root(self) -> Path:
        root = Path(self.log_dir)
        return root if root.is_absolute() else self.loop.run_dir.path / root

    def _writer(self, kind: str):
        if kind not in self.writers:
            from torch.utils.tensorboard import SummaryWriter
            self.writers[kind] = SummaryWriter(str(self.root / kind if kind else self.root))
        return self.writers[kind]

    def on_train_begin(self, logs=None):
        if not self.loop.is_main:
            return
        progress = self.loop.progress
        if progress.resumed:
            drop_events_after(self.root, progress.epoch, progress.global_step)
            return
        if self.write_hparams:
            self._log_hparams()
        if self.write_graph:
            self._log_graph()

    def on_train_batch_end(self, batch, logs=None):
        step = self.loop.progress.global_step
        if step % self.update_freq or not self.loop.is_main:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():  # reading a lazy log waits for the device
            writer.add_scalar(f"batch_{name}", float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        if not self.loop.is_main:
            return
        logs = dict(logs or {})
        seconds = logs.pop("seconds", None)
        if "lr" in logs:
            logs["learning_rate"] = logs.pop("lr")
        if self.write_steps_per_second and seconds:
            logs["steps_per_second"] = self.loop.steps_per_epoch / seconds
        for name, value in logs.items():
            kind, tag = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            self._writer(kind).add_scalar(f"epoch_{tag}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}

    def on_run_end(self, state, logs=None):  # interrupted or diverged: no on_train_end
        self.on_train_end()

    def _unwrapped_model(self) -> torch.nn.Module:
        model = self.model
        for attribute in ("module", "_orig_mod"):
            model = getattr(model, attribute, model)
        return model

    def _log_weights(self, epoch: int) -> None:
        """Keras's `<layer>/<weight>` histograms, in the train writer."""
        writer = self._writer("train")
        for name, tensor in self._unwrapped_model().state_dict().items():
            if tensor.is_floating_point():
                writer.add_histogram(_weight_tag(name), tensor.detach().float().cpu(), epoch)

    def _log_embeddings(self, epoch: int) -> None:
        from ..graph.layers.core import Embedding
        for name, module in self._unwrapped_model().named_modules():
            if isinstance(module, Embedding):
                layer = name.removeprefix("layers.")
                weight = next(iter(module.parameters())).detach().float().cpu()
                labels = _metadata_labels(self.embeddings_metadata.get(layer), weight.shape[0])
                self._writer("train").add_embedding(weight, metadata=labels, tag=layer,
                                                    global_step=epoch)

    def _log_graph(self) -> None:
        """The traced model graph (Keras write_graph); a model that does not trace is a
        warning, not a failure."""
        model = self._unwrapped_model()
        try:
            device = next(model.parameters()).device
            shapes = getattr(model, "input_shapes", None) or {}
            example = {name: torch.zeros([1, *(d or 1 for d in shape)], device=device)
                       for name, shape in shapes.items()}
            inputs = next(iter(example.values())) if len(example) == 1 else (example,)
            with warnings.catch_warnings():  # torch.jit.trace's deprecation notice
                warnings.simplefilter("ignore", DeprecationWarning)
                self._writer("train").add_graph(model, inputs)
        except Exception as exc:  # tracing is best effort: a graph is a nice-to-have
            self.loop.warn(f"TensorBoard: could not write the model graph "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")

    def _log_hparams(self) -> None:
        """The flattened resolved config as the HParams plugin's session, with the epoch
        metrics of both writers as its metrics."""
        config = self.loop.run_dir.read_config() or {}  # the resolved config the run started with
        hparams = {k: v for k, v in flatten(config).items()
                   if isinstance(v, (int, float, str, bool))}
        metrics = [("train", "epoch_loss")]
        if (config.get("data") or {}).get("validation") or \
                (config.get("fit") or {}).get("validation_split"):
            metrics.append(("validation", "epoch_loss"))
        writer = self._writer("")
        for summary in hparams_summaries(hparams, metrics):
            writer.file_writer.add_summary(summary)
        writer.flush()


def _weight_tag(name: str) -> str:
    for prefix in _WRAPPER_PREFIXES:
        name = name.removeprefix(prefix)
    return name.removeprefix("layers.").replace(".", "/")


def _metadata_labels(path: str | None, rows: int) -> list[str] | None:
    """Keras's embeddings_metadata: a file with one label per row of the embedding."""
    if path is None:
        return None
    labels = Path(path).read_text().splitlines()
    return labels[:rows] if len(labels) >= rows else None


def hparams_summaries(hparams: dict[str, Any], metrics: list[tuple[str, str]]) -> list[Any]:
    """The HParams plugin's experiment and session-start summaries (what Keras's
    hp.KerasCallback writes); metrics are (run group, tag) pairs."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    def summary(tag: str, data: Any) -> Any:
        plugin = SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME,
                                            content=data.SerializeToString())
        return Summary(value=[Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin))])

    start = plugin_data_pb2.SessionStartInfo()
    infos = []
    for name, value in hparams.items():
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
            kind = "DATA_TYPE_BOOL"
        elif isinstance(value, (int, float)):
            start.hparams[name].number_value = value
            kind = "DATA_TYPE_FLOAT64"
        else:
            start.hparams[name].string_value = value
            kind = "DATA_TYPE_STRING"
        infos.append(api_pb2.HParamInfo(name=name, type=api_pb2.DataType.Value(kind)))
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=[
        api_pb2.MetricInfo(name=api_pb2.MetricName(group=group, tag=tag)) for group, tag in metrics])
    version = metadata.PLUGIN_DATA_VERSION
    return [summary(metadata.EXPERIMENT_TAG,
                    plugin_data_pb2.HParamsPluginData(experiment=experiment, version=version)),
            summary(metadata.SESSION_START_INFO_TAG,
                    plugin_data_pb2.HParamsPluginData(session_start_info=start, version=version))]


def drop_events_after(root: Path, epoch: int, global_step: int) -> None:
    """Rewrite the event files under `root` without what a resumed run writes again: epoch
    tags at step >= `epoch`, batch tags at step > `global_step`. Each file is replaced
    atomically; the hparams session and the graph (written at the start) are kept."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    def kept(event: Any) -> bool:
        for value in event.summary.value:
            if value.tag.startswith("_hparams_"):
                continue
            if value.tag.startswith("batch_") and event.step > global_step:
                return False
            if not value.tag.startswith("batch_") and event.step >= epoch:
                return False
        return True

    for path in sorted(root.rglob("events.out.tfevents.*")):
        records = list(RawEventFileLoader(str(path)).Load())
        keep = [r for r in records if kept(Event.FromString(r))]
        if len(keep) == len(records):
            continue
        temporary = path.with_name(f".rewrite-{os.getpid()}.tmp")  # no "tfevents": unread
        with open(temporary, "wb") as handle:
            writer = RecordWriter(handle)
            for record in keep:
                writer.write(record)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
