"""`trainer` commands. Each is a thin shell: parse, call the engine, print, exit."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from trainer.engine import signals
from trainer.engine.torchrun_env import launched_by_torchrun, rank

from .durations import parse_duration
from .errors import report_errors


def examples(*lines: str) -> str:
    """A command's help epilog: the examples, one per paragraph so they are never rewrapped."""
    return "[bold]Examples[/bold]\n\n" + "\n\n".join(lines)


app = typer.Typer(
    name="trainer",
    help="Train PyTorch models from YAML experiments, Keras-style.",
    epilog=examples("trainer init --template mnist && trainer fit mnist.yaml",
                    "trainer runs --sort val_loss",
                    "trainer plot runs/mnist_mlp runs/mnist_cnn",
                    "trainer COMMAND --help   # options and examples of one command"),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _print_version(wanted: bool) -> None:
    if wanted:
        from .version import version_text
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_print_version,
                                          is_eager=True, help="Print trainer's and torch's "
                                          "versions and the devices torch sees, and exit.")
             ) -> None:
    """Train PyTorch models from YAML experiments, Keras-style."""


SetOption = typer.Option(None, "--set", help="Override a config key: --set fit.epochs=5 (value "
                                              "parsed as YAML); repeatable.")
TrustCodeOption = typer.Option(
    False, "--trust-checkpoint-code", help="Let the checkpoint's stored config import the "
    "module:Name / file.py:Name components it names (runs their code). Only for checkpoints "
    "from people you trust; giving your own --config is the other way.")
PrintConfigOption = typer.Option(False, "--print-config", help="Print the fully resolved config "
                                 "(defaults filled, --set and ${ENV} applied) as YAML and exit.")


def _load(config: Path, overrides: Optional[List[str]], seed: Optional[int] = None):
    from trainer.engine.config import load_experiment
    extra = [f"seed={seed}"] if seed is not None else []
    return load_experiment(config, [*(overrides or []), *extra])


def _checkpoint_code(ckpt: Path, vouched: bool):
    """The context a checkpoint's config is built in: its import references are refused unless
    the user vouched for them (--trust-checkpoint-code, or their own --config)."""
    from trainer.engine.registry import imports_refused
    return imports_refused(None if vouched else f"the checkpoint {ckpt}")


def _progress_mode(quiet: bool) -> str:
    if quiet:
        return "quiet"
    return "bar" if sys.stdout.isatty() else "lines"


@app.command(epilog=examples(
    "trainer fit configs/mnist.yaml --set fit.epochs=5",
    "trainer fit configs/mnist.yaml --max-time 2h30m   # exit 75 in time; run again to continue",
    "trainer fit configs/mnist_cnn.yaml --nproc-per-node 2   # DistributedDataParallel",
    "trainer fit configs/mnist.yaml --print-config > resolved.yaml"))
@report_errors
def fit(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    overrides: Optional[List[str]] = SetOption,
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="Run directory (default runs/<name>)."),
    resume: str = typer.Option("auto", "--resume", help="auto | never | PATH to a checkpoint."),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N | mps."),
    max_time: Optional[str] = typer.Option(None, "--max-time", help="Stop (resumably) before this "
                                           "much time has passed, e.g. 2h30m."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Override the config's seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors and the final summary."),
    nproc_per_node: Optional[int] = typer.Option(
        None, "--nproc-per-node", min=1, help="Train with N processes on this machine "
        "(torchrun + DistributedDataParallel; nccl on GPUs, gloo on CPU)."),
    print_config: bool = PrintConfigOption,
) -> None:
    """Train a model; an interrupted run in the same run dir resumes."""
    experiment = _load(config, overrides, seed)
    signals.install(experiment.config.fit.stop_signals)
    if print_config:
        return _print_resolved(experiment)
    if rank() == 0:  # a locked run dir: exit 4 now, before torch, data and model
        _refuse_a_locked_run_dir(experiment.config.name, run_dir, resume)
    from trainer.engine.fit_session import FitOptions, fit as run_fit
    if nproc_per_node is not None and not launched_by_torchrun():
        raise typer.Exit(_launch(nproc_per_node, experiment, config, overrides, run_dir, resume,
                                 device, max_time, seed, quiet))
    options = FitOptions(run_dir=run_dir, resume=resume, device=device,
                         max_seconds=parse_duration(max_time) if max_time else None,
                         progress=_progress_mode(quiet))
    result = run_fit(experiment, options)
    if rank() != 0:
        return  # under torchrun, rank 0 reports
    if result.already_finished:
        typer.echo(f"{result.run_dir}: already {result.state.label} "
                   f"({result.epochs} epochs); nothing to do")
        return
    summary = ", ".join(f"{k}={v:.4f}" for k, v in result.logs.items() if k != "seconds")
    typer.echo(f"{result.state.label} after {result.epochs} epochs: {summary}")
    if result.test_metrics:
        typer.echo("test: " + ", ".join(f"{k}={v:.4f}" for k, v in result.test_metrics.items()))
    typer.echo(f"run directory: {result.run_dir}")


def _refuse_a_locked_run_dir(name: str, run_dir: Optional[Path], resume: str) -> None:
    from trainer.engine.state.lock import RunLock
    from trainer.engine.state.rundir import RunDir, choose_run_dir
    RunLock(RunDir(choose_run_dir(name, run_dir, resume)[0]).lock_file).refuse_if_held()


def _launch(nproc: int, experiment, config: Path, overrides, run_dir, resume: str, device,
            max_time, seed, quiet: bool) -> int:
    """Re-run this fit under torchrun, naming the run dir so that every rank uses the same one."""
    from trainer.engine.state.rundir import choose_run_dir
    from .launch import torchrun_fit
    target, resume = choose_run_dir(experiment.config.name, run_dir, resume)
    args = [str(config), "--run-dir", str(target), "--resume", resume]
    args += [a for o in overrides or [] for a in ("--set", o)]
    args += [a for flag, value in (("--device", device), ("--max-time", max_time), ("--seed", seed))
             if value is not None for a in (flag, str(value))]
    args += ["--quiet"] if quiet else []
    return torchrun_fit(nproc, args, target)


@app.command(epilog=examples(
    "trainer evaluate --ckpt runs/mnist_mlp/checkpoints/last.pt",
    "trainer evaluate --ckpt runs/mnist_mlp/checkpoints/best.pt --split validation --json",
    "trainer evaluate --ckpt runs/mnist_mlp/checkpoints/last.pt --data holdout.npz",
    "trainer evaluate --config configs/mnist.yaml   # the model before training"))
@report_errors
def evaluate(
    ckpt: Optional[Path] = typer.Option(None, "--ckpt", help="Checkpoint file (e.g. "
                                        "runs/x/checkpoints/last.pt)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config to use instead of the "
                                          "checkpoint's own; alone, evaluates the config's model "
                                          "as initialised (before training)."),
    split: str = typer.Option("test", "--split", help="test | validation | train."),
    data: Optional[Path] = typer.Option(None, "--data", help="Evaluate on this file instead "
                                        "(same format as data.test)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    device: Optional[str] = typer.Option(None, "--device"),
    trust_code: bool = TrustCodeOption,
) -> None:
    """Loss and metrics of a checkpoint (or of a config's untrained model) on a data split."""
    from trainer.engine.inference import evaluate_checkpoint
    experiment = _load(config, None) if config else None
    with _checkpoint_code(ckpt, trust_code or config is not None):
        results = evaluate_checkpoint(ckpt, experiment, split, batch_size, device, test_file=data)
    if as_json:
        typer.echo(json.dumps(results))
    else:
        typer.echo(" - ".join(f"{k}: {v:.4f}" for k, v in results.items()))


@app.command(epilog=examples(
    "trainer predict --ckpt runs/mnist_mlp/checkpoints/last.pt --input x.npy --output p.npy",
    "trainer predict --ckpt runs/multi_io/checkpoints/last.pt --input inputs.h5 --output out.h5",
    "trainer predict --ckpt runs/mnist_mlp/checkpoints/last.pt --input scaled.npy --output p.npy --preprocessed",
    "trainer predict --ckpt mnist.onnx --input x.npy --output p.npy   # an export serves too"))
@report_errors
def predict(
    ckpt: Optional[Path] = typer.Option(None, "--ckpt", help="Checkpoint file, or a .safetensors "
                                        "/ .onnx export."),
    input: Path = typer.Option(..., "--input", help="Inputs: .npy, .npz, .h5 or .csv."),
    output: Path = typer.Option(..., "--output", help="Predictions: .h5, .npy, .npz or .csv."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config to use instead of the "
                                          "checkpoint's own; alone, predicts with the config's "
                                          "model as initialised (before training)."),
    preprocessed: bool = typer.Option(False, "--preprocessed", help="The inputs are already "
                                      "transformed: do not apply data.transforms to them."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1),
    device: Optional[str] = typer.Option(None, "--device"),
    trust_code: bool = TrustCodeOption,
) -> None:
    """Write a checkpoint's predictions for the inputs in a file (format by suffix). The
    config's input transforms are applied to the (raw) inputs unless --preprocessed."""
    from trainer.engine.data.prediction_files import check_output_file, write_predictions
    from trainer.engine.inference import checkpoint_class_names, predict_file
    check_output_file(output)
    with _checkpoint_code(ckpt, trust_code or config is not None):
        predictions, warnings = predict_file(ckpt, input, batch_size, device,
                                             _load(config, None) if config else None, preprocessed)
    for warning in warnings:
        typer.echo(f"warning: {warning}: are the inputs already preprocessed? Then pass "
                   f"--preprocessed (the config's transforms were applied to them)", err=True)
    write_predictions(output, predictions)
    shapes = ", ".join(f"{k} {list(v.shape)}" for k, v in predictions.items())
    typer.echo(f"wrote {output}: {shapes}")
    if ckpt is not None and (class_names := checkpoint_class_names(ckpt)):
        typer.echo(f"classes (label order): {', '.join(class_names)}")


@app.command(epilog=examples(
    "trainer export --ckpt runs/mnist_mlp/checkpoints/last.pt --format onnx --output mnist.onnx",
    "trainer export --ckpt runs/multi_io/checkpoints/best.pt --format safetensors --output m.safetensors",
    "trainer export --ckpt runs/x/checkpoints/last.pt --format pt2 --output x.pt2 --sample x.npy"))
@report_errors
def export(
    ckpt: Path = typer.Option(..., "--ckpt", help="Checkpoint file."),
    format: str = typer.Option(..., "--format", help="safetensors | onnx | pt2."),
    output: Path = typer.Option(..., "--output", help="File to write (.safetensors, .onnx, .pt2)."),
    sample: Optional[Path] = typer.Option(None, "--sample", help="Raw inputs to check the export "
                                          "on (as for predict; default: the config's data)."),
    tolerance: float = typer.Option(1e-5, "--tolerance", min=0.0, help="Largest accepted "
                                    "relative difference from the checkpoint's predictions."),
    trust_code: bool = TrustCodeOption,
) -> None:
    """Export a checkpoint's model (with its input transforms), checked against the checkpoint."""
    from trainer.engine.export.exporter import export_checkpoint
    with _checkpoint_code(ckpt, trust_code):
        report = export_checkpoint(ckpt, format, output, sample, tolerance)
    notes = "".join(f", {n}" for n in report.notes)
    typer.echo(f"wrote {report.output} ({report.format}{notes})")
    for difference in report.differences:
        typer.echo(f"parity on {report.rows} samples: {difference}")


@app.command("import-keras", epilog=examples(
    "trainer import-keras mnist_convnet.keras --output imported/",
    "trainer predict --ckpt imported/imported.pt --input x.npy --output p.npy"))
@report_errors
def import_keras(
    model: Path = typer.Argument(..., help="A Keras 3 .keras file."),
    output: Path = typer.Option(..., "--output", help="Folder for experiment.yaml and imported.pt."),
) -> None:
    """Import a Keras model: an experiment (model + compile) and its weights as a checkpoint."""
    from trainer.engine.keras_import.importer import import_keras as run_import
    report = run_import(model, output)
    typer.echo(f"wrote {report.experiment} ({report.layers} layers, {report.parameters:,} "
               f"parameters) and {report.weights}")


@app.command(epilog=examples(
    "trainer validate configs/mnist.yaml",
    "trainer validate configs/mnist.yaml --set fit.batch_size=256 --print-config"))
@report_errors
def validate(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    overrides: Optional[List[str]] = SetOption,
    print_config: bool = PrintConfigOption,
) -> None:
    """Check a config: schema, model graph, data, one batch through the model. Trains nothing."""
    experiment = _load(config, overrides)
    if print_config:
        return _print_resolved(experiment)
    from trainer.engine.preflight import validate_experiment
    report = validate_experiment(experiment)
    typer.echo(f"{config}: valid ({report})")


@app.command(epilog=examples(
    "trainer summary configs/mnist.yaml",
    "trainer summary --ckpt runs/mnist_mlp/checkpoints/last.pt",
    "trainer summary configs/mnist.yaml --plot model.png"))
@report_errors
def summary(
    config: Optional[Path] = typer.Argument(None, help="Experiment YAML file."),
    ckpt: Optional[Path] = typer.Option(None, "--ckpt", help="Summarise a checkpoint's model instead."),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help="Also draw the graph (layers, shapes, connections) into this PNG "
        "(like Keras's plot_model; needs matplotlib). Several models: one file each, FILE_name.png."),
    overrides: Optional[List[str]] = SetOption,
    trust_code: bool = TrustCodeOption,
) -> None:
    """Layer table: name, type, output shape, parameters (like Keras model.summary())."""
    from trainer.engine.components import build_models
    from trainer.engine.errors import ConfigError
    from trainer.engine.graph import summarize
    from trainer.engine.inference import checkpoint_class_names, checkpoint_models
    if (config is None) == (ckpt is None):
        raise ConfigError("give either a CONFIG file or --ckpt PATH")
    class_names = None
    if ckpt is not None:
        with _checkpoint_code(ckpt, trust_code):
            experiment, models = checkpoint_models(ckpt)
        class_names = checkpoint_class_names(ckpt)
    else:
        experiment = _load(config, overrides)
        models = build_models(experiment)
    for name, model in models.items():
        title = f'Model: "{experiment.config.name}"' + (f" / {name}" if name != "model" else "")
        typer.echo(title)
        typer.echo(summarize(model).format())
        if plot is not None:
            from trainer.engine.model_plot import plot_model
            path = plot if len(models) == 1 else plot.with_name(f"{plot.stem}_{name}{plot.suffix}")
            typer.echo(f"graph drawn in {plot_model(model, title, path)}")
    if class_names:
        typer.echo(f"Classes (label order): {', '.join(class_names)}")


@app.command(epilog=examples(
    "trainer verify runs/mnist_mlp   # before copying a run directory somewhere",
    "trainer verify runs/mnist_mlp/checkpoints/best.pt"))
@report_errors
def verify(
    path: Path = typer.Argument(..., help="A run directory or a checkpoint file."),
) -> None:
    """Check checkpoints (checksum, loadable) and a run directory's consistency; exit 2 on problems."""
    from trainer.engine.state.verify import verify as verify_path
    report = verify_path(path)
    for line in report.good:
        typer.echo(f"ok: {line}")
    for line in report.problems:
        typer.echo(f"problem: {line}", err=True)
    if report.problems:
        raise typer.Exit(2)
    typer.echo(f"{path}: good")


@app.command(epilog=examples(
    "trainer runs",
    "trainer runs runs/ --sort val_loss",
    "trainer runs --sort=-val_sparse_categorical_accuracy",
    "trainer runs --json | jq '.[] | {name, best}'"))
@report_errors
def runs(
    directory: Path = typer.Argument(Path("runs"), help="Folder holding run directories."),
    sort: Optional[str] = typer.Option(None, "--sort", help="name | state | epochs | best | time "
                                       "| a logged value (val_loss: lowest first); a leading '-' "
                                       "sorts from the highest."),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as a JSON list."),
) -> None:
    """Compare runs: state, epochs, best monitored value and epoch, wall time, config differences."""
    from trainer.engine.runs import list_runs
    from .tables import runs_table
    rows = list_runs(directory, sort)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in rows], indent=2))
    elif not rows:
        typer.echo(f"no runs in {directory}")
    else:
        typer.echo(runs_table(rows, sort))


@app.command(epilog=examples(
    "trainer plot runs/mnist_mlp runs/mnist_cnn",
    "trainer plot runs/* --metric val_sparse_categorical_accuracy --output accuracy.png"))
@report_errors
def plot(
    run_dirs: List[Path] = typer.Argument(..., help="Run directories to overlay."),
    metric: Optional[str] = typer.Option(None, "--metric", help="Logged value to plot (default "
                                         "val_loss, or loss when a run has no validation)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="PNG file to write "
                                          "(default plot_<metric>.png)."),
) -> None:
    """Overlay one logged value of several runs, per epoch, in a PNG (needs matplotlib).

    Each run also gets its own curves.png when it finishes or is interrupted.
    """
    from trainer.engine.errors import TrainerError
    from trainer.engine.plots import INSTALL_HINT, matplotlib_available, plot_runs
    if not matplotlib_available():
        raise TrainerError(f"trainer plot needs matplotlib: {INSTALL_HINT}")
    plotted, output = plot_runs(run_dirs, metric, output)
    typer.echo(f"wrote {output}: {plotted} of {len(run_dirs)} run(s)")


@app.command(epilog=examples(
    "trainer sweep examples/mnist_sweep.yaml   # a worker; start more for parallel trials",
    "trainer sweep examples/mnist_sweep.yaml --max-time 1h   # exit 75 in time; run again",
    "trainer sweep examples/mnist_sweep.yaml --status",
    "trainer sweep examples/mnist_sweep.yaml --status --json | jq .best"))
@report_errors
def sweep(
    sweep_file: Path = typer.Argument(..., help="Sweep YAML file (names the base experiment)."),
    status: bool = typer.Option(False, "--status", help="Show the trials and the best one; "
                                "write best.yaml and the plots (not with --json); train nothing."),
    as_json: bool = typer.Option(False, "--json", help="With --status: print it as JSON."),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N | mps."),
    max_time: Optional[str] = typer.Option(None, "--max-time", help="Stop this worker (resumably) "
                                           "before this much time has passed, e.g. 2h30m."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print one line per trial only."),
) -> None:
    """Hyperparameter search on Optuna: run trials until the study has them all.

    Each trial is a run dir in sweeps/NAME/trials/NNN. Run it again after any kill to
    continue; run several at once (or on several machines sharing a storage URL) in parallel.
    """
    from trainer.engine.sweep.spec import load_sweep
    if status:
        return _sweep_status(load_sweep(sweep_file, check=False), as_json)
    from trainer.engine.fit_session import FitOptions
    from trainer.engine.sweep.worker import run_worker
    spec = load_sweep(sweep_file)
    options = FitOptions(device=device, max_seconds=parse_duration(max_time) if max_time else None,
                         progress="quiet" if quiet else _progress_mode(False))
    result = run_worker(spec, options, typer.echo)
    typer.echo(f"{result.finished} trials finished" + (f", {result.running} running in other "
               f"workers" if result.running else "") + f"; status: trainer sweep {sweep_file} --status")
    if not result.running:
        _sweep_status(spec, as_json=False)


def _sweep_status(spec, as_json: bool) -> None:
    from trainer.engine.sweep.report import sweep_report
    from .tables import sweep_table
    if as_json:  # a query for scripts: no files written
        typer.echo(json.dumps(sweep_report(spec, write_files=False).as_json(), indent=2))
    else:
        typer.echo(sweep_table(sweep_report(spec)))


@app.command(epilog=examples(
    "trainer init",
    "trainer init --template mnist_cnn experiments/cnn.yaml",
    "trainer init --template regression && trainer fit regression.yaml"))
@report_errors
def init(
    path: Optional[Path] = typer.Argument(None, help="Where to write the config (default "
                                          "<template>.yaml)."),
    template: str = typer.Option("mnist", "--template", "-t", help="mnist | mnist_cnn | "
                                 "regression | gan | multi_io | image_folder."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter config that validates and trains as it is."""
    from trainer.engine.templates import write_template
    path = path or Path(f"{template}.yaml")
    written = write_template(template, path, overwrite=force)
    typer.echo(f"wrote {', '.join(map(str, written))}")
    typer.echo(f"next: trainer validate {path} && trainer fit {path}")


@app.command(epilog=examples(
    "trainer schema > trainer.schema.json",
    "# then, first line of a config:  # yaml-language-server: $schema=trainer.schema.json"))
@report_errors
def schema() -> None:
    """Print the JSON Schema of the config (for editors: yaml-language-server)."""
    from trainer.engine.config.docs import schema_text
    typer.echo(schema_text(), nl=False)


def _print_resolved(experiment) -> None:
    """The resolved config as YAML; fed back to trainer it gives the same config (and hash)."""
    import yaml
    typer.echo(f"# resolved config (config hash {experiment.hash})")
    typer.echo(yaml.safe_dump(experiment.resolved, sort_keys=False), nl=False)


def main() -> None:
    signals.install()  # again: `python -m trainer.cli.main` enters here
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()


if __name__ == "__main__":
    main()
