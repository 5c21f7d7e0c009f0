"""The MLflow logger (`loggers.mlflow` in the config): the flattened config as params, every
epoch's logs as metrics at step = epoch, versions and the config hash as tags, the run's files
as artifacts at the end, and the final state. Every MLflow call runs on a background thread;
a call that fails is a warning and is retried at the next epoch end and at the finish. The
MLflow run id is kept in the checkpoint, so a resumed run continues the same MLflow run."""
from __future__ import annotations

import collections
import importlib.util
import os
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from ..config.keypath import flatten
from ..errors import ConfigError
from .base import Callback

INSTALL_HINT = "the MLflow logger needs mlflow: pip install 'trainer[mlflow]'"
# MLflow's final run status for each way a fit ends.
MLFLOW_STATUS = {"completed": "FINISHED", "early_stopped": "FINISHED", "diverged": "FAILED",
                 "failed": "FAILED", "interrupted": "KILLED"}
NOT_PARAMS = ("device", "loggers")  # may differ between invocations of one run
PARAM_VALUE_LIMIT = 6000            # MLflow's limit on a param's length
BATCH_LIMIT = 100                   # params (or metrics) per log_batch call


def mlflow_logger(settings: Any, experiment: Any, environment: dict[str, str]
                  ) -> "MLflowLogger | None":
    """The logger for the config's `loggers` section, or None when MLflow is not configured."""
    mlflow = getattr(settings, "mlflow", None) if settings is not None else None
    if mlflow is None:
        return None
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError(INSTALL_HINT, "loggers.mlflow")
    return MLflowLogger(mlflow, experiment.resolved, experiment.hash, environment)


def _refused(exc: Exception) -> bool:
    """An MLflow answer that a retry would get again (a bad name, an invalid value)."""
    return getattr(exc, "error_code", None) in (
        "INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "RESOURCE_ALREADY_EXISTS")


class BackgroundCalls:
    """Runs calls in order on one daemon thread. A call that raises stops the queue (it and
    every later call wait) until `retry()`; `close()` retries once more and waits a bounded
    time, so a tracking server that is down or slow never holds training up."""

    def __init__(self, connect: Callable[[], Any], warn: Callable[[str], None],
                 refused: Callable[[Exception], bool]):
        self._connect = connect
        self._warn = warn
        self._refused = refused  # the store refuses this call: retrying will not help
        self._queue: collections.deque = collections.deque()
        self._changed = threading.Condition()
        self._stalled = False
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="trainer-mlflow", daemon=True)
        self._thread.start()

    def submit(self, call: Callable[[Any], None]) -> None:
        with self._changed:
            self._queue.append(call)
            self._changed.notify_all()

    def retry(self) -> None:
        with self._changed:
            self._stalled = False
            self._changed.notify_all()

    def close(self, timeout: float) -> int:
        """Retry what is left, wait up to `timeout` seconds; return how many calls were not made."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._stalled = False
            self._changed.notify_all()
            while self._queue and not self._stalled and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            self._closed = True
            self._changed.notify_all()
            return len(self._queue)

    def _work(self) -> None:
        client = None
        while True:
            with self._changed:
                while not self._closed and (self._stalled or not self._queue):
                    self._changed.wait()
                if self._closed:
                    return
                call = self._queue[0]
            try:
                client = client or self._connect()
                call(client)
            except Exception as exc:  # the tracking store is down, slow or refuses: warn
                refused = self._refused(exc)
                with self._changed:
                    if refused:
                        self._queue.popleft()
                    else:
                        self._stalled = True
                    self._changed.notify_all()
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                self._warn(f"MLflow: {type(exc).__name__}: {first_line[:300]}; " + (
                    "not sent" if refused else "retrying at the next epoch end"))
                continue
            with self._changed:
                self._queue.popleft()
                self._changed.notify_all()


class MLflowLogger(Callback):
    """Added by fit_session after every other callback, on rank 0 only."""

    uses_batch_hooks = False

    def __init__(self, settings: Any, config: dict[str, Any], config_hash: str,
                 environment: dict[str, str]):
        self.settings = settings
        self.config = config            # the resolved config: the run's params
        self.config_hash = config_hash
        self.environment = environment  # versions, device, precision: tags
        self.run_id: str | None = None
        self.run_uid: str | None = None   # tags the MLflow run before its id reaches a checkpoint
        self.sent_steps: dict[str, set[int]] = {}
        self.calls: BackgroundCalls | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "run_uid": self.run_uid}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run_id, self.run_uid = state.get("run_id"), state.get("run_uid")

    # --- hooks: each only queues calls -----------------------------------------------------
    def on_train_begin(self, logs=None):
        progress = self.loop.progress
        resumed = progress.resumed and self.run_uid is not None
        self.run_uid = self.run_uid or uuid.uuid4().hex
        self.calls = BackgroundCalls(self._connect, self._warn, _refused)
        self.calls.submit(lambda client: self._open_run(client, resumed))
        self.calls.submit(self._log_config)
        if progress.resumed:  # send what the checkpoint has and the MLflow run lacks
            history = {k: list(v) for k, v in progress.history.items()}
            epochs = list(progress.epochs_done)
            self.calls.submit(lambda client: self._catch_up(client, history, epochs))

    def on_epoch_end(self, epoch, logs=None):
        if self.calls is None:
            return
        values = {k: float(v) for k, v in (logs or {}).items() if v is not None}
        stamp = int(time.time() * 1000)
        self.calls.submit(lambda client: self._log_metrics(client, {
            k: [(epoch, v)] for k, v in values.items()}, stamp))
        self.calls.retry()

    def on_run_end(self, state, logs=None):
        if self.calls is None:
            return
        run_dir = self.loop.run_dir
        files = [path for path in (run_dir.config, run_dir.history_csv, run_dir.curves,
                                   run_dir.weights) if path.is_file()]
        self.calls.submit(lambda client: self._finish(client, files, MLFLOW_STATUS[state]))
        left = self.calls.close(self.settings.flush_timeout)
        self.calls = None
        if left:
            self._warn(f"MLflow: {left} update(s) of run {self.run_id or '(not created)'} could "
                       f"not be sent (the run directory has the history)")

    # --- what the background thread does ------------------------------------------------------
    def _warn(self, message: str) -> None:
        self.loop.warn(message)
        sys.stderr.write(f"warning: {message}\n")

    def tracking_uri(self) -> str:
        if self.settings.tracking_uri:
            return self.settings.tracking_uri
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return os.environ["MLFLOW_TRACKING_URI"]
        return f"sqlite:///{(self.loop.run_dir.path.parent / 'mlflow.db').resolve()}"

    def _connect(self) -> Any:
        import mlflow
        return mlflow.MlflowClient(tracking_uri=self.tracking_uri())

    def _experiment_id(self, client: Any) -> str:
        name = self.settings.experiment
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        uri = self.tracking_uri()
        location = None
        if uri.startswith("sqlite:///"):  # artifacts beside the database, not in the cwd
            location = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
        return client.create_experiment(name, artifact_location=location)

    def _tags(self) -> dict[str, str]:
        environment = self.environment
        return {"trainer.version": environment["trainer"], "torch.version": environment["torch"],
                "python.version": environment["python"], "trainer.device": environment["device"],
                "trainer.precision": environment["precision"],
                "trainer.config_hash": self.config_hash,
                "trainer.run_dir": str(self.loop.run_dir.path.resolve()),
                "trainer.run_uid": self.run_uid, **self.settings.tags}

    def _open_run(self, client: Any, resumed: bool) -> None:
        from mlflow.entities import RunTag
        if self.run_id is None and resumed:  # opened before its id reached a checkpoint?
            found = client.search_runs([self._experiment_id(client)], max_results=1,
                                       filter_string=f"tags.`trainer.run_uid` = '{self.run_uid}'")
            self.run_id = found[0].info.run_id if found else None
        if self.run_id is None:
            run = client.create_run(self._experiment_id(client), tags=self._tags(),
                                    run_name=self.settings.run_name or self.loop.run_dir.path.name)
            self.run_id = run.info.run_id
        else:
            client.update_run(self.run_id, status="RUNNING")
            client.log_batch(self.run_id, tags=[RunTag(k, v) for k, v in self._tags().items()])

    def _log_config(self, client: Any) -> None:
        """Params may be logged again with the same value (a resume), never changed."""
        from mlflow.entities import Param
        params = [Param(re.sub(r"\[(\d+)\]", r".\1", key), str(value)[:PARAM_VALUE_LIMIT])
                  for key, value in flatten(self.config).items()
                  if key.split(".")[0].split("[")[0] not in NOT_PARAMS]
        for start in range(0, len(params), BATCH_LIMIT):
            client.log_batch(self.run_id, params=params[start:start + BATCH_LIMIT])

    def _catch_up(self, client: Any, history: dict[str, list], epochs: list[int]) -> None:
        """Which steps the MLflow run has (the interrupted invocation may have sent more or
        fewer epochs than its checkpoint holds), then the missing ones from the history."""
        keys = set(history) | set(client.get_run(self.run_id).data.metrics)
        for key in keys:
            self.sent_steps[key] = {m.step for m in client.get_metric_history(self.run_id, key)}
        stamp = int(time.time() * 1000)
        self._log_metrics(client, {key: [(epoch, value) for epoch, value in zip(epochs, values)
                                         if value is not None]
                                   for key, values in history.items()}, stamp)

    def _log_metrics(self, client: Any, series: dict[str, list[tuple[int, float]]],
                     stamp: int) -> None:
        """Steps the run already has are skipped: a resume recomputes an epoch exactly, so
        the value sent before is the same one."""
        from mlflow.entities import Metric
        metrics = [Metric(key, value, stamp, step) for key, points in series.items()
                   for step, value in points if step not in self.sent_steps.get(key, ())]
        for start in range(0, len(metrics), BATCH_LIMIT):
            chunk = metrics[start:start + BATCH_LIMIT]
            client.log_batch(self.run_id, metrics=chunk)
            for metric in chunk:
                self.sent_steps.setdefault(metric.key, set()).add(metric.step)

    def _finish(self, client: Any, files: list[Path], status: str) -> None:
        for path in files:
            client.log_artifact(self.run_id, str(path))
        client.set_terminated(self.run_id, status)
