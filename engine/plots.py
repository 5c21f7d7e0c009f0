"""Learning-curve pictures, drawn headless with matplotlib (an optional extra): a run's
curves.png (loss and each metric, train vs validation per epoch, the best epoch marked, the
learning rate when it changed) and `trainer plot`'s overlay of one quantity over several runs."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .errors import TrainerError
from .runs import RunInfo, read_run
from .state.atomic import atomic_write
from .state.rundir import RunDir

INSTALL_HINT = "pip install matplotlib (a dependency of trainer; missing from this install)"
NOT_CURVES = ("lr", "seconds")


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def record_curves(run_dir: RunDir) -> str | None:
    """At the end of a run, best effort: None when drawn, else why not (without matplotlib,
    or when drawing fails), never a failed run."""
    if not matplotlib_available():
        return f"{run_dir.curves.name} not drawn: matplotlib is not installed ({INSTALL_HINT})"
    try:
        write_run_curves(run_dir.path)
    except Exception as exc:  # noqa: BLE001 - a picture is never worth failing a run for
        return f"{run_dir.curves.name} not drawn: {type(exc).__name__}: {exc}"
    return None


def write_run_curves(run_dir: Path) -> Path | None:
    """curves.png for the run in `run_dir`; None when it has no finished epoch yet."""
    run = read_run(Path(run_dir))
    panels = curve_panels(run.history)
    if not panels:
        return None
    lr = [v for v in run.history.get("lr", []) if v is not None]
    show_lr = len(set(lr)) > 1
    figure, axes = _figure(len(panels) + show_lr)
    epochs = _epochs(run)
    for ax, (title, keys) in zip(axes, panels):
        for key in keys:
            style = "--" if key.startswith("val_") else "-"
            label = "validation" if key.startswith("val_") else "train"
            ax.plot(epochs, _series(run.history[key], len(epochs)), style, marker="o",
                    markersize=3, label=f"{label} ({key})")
        _mark_best(ax, run, keys)
        _label(ax, title, title, epochs)
        _log_scale_if_wide(ax, [run.history[k] for k in keys])
    if show_lr:
        ax = axes[len(panels)]
        ax.plot(epochs, _series(run.history["lr"], len(epochs)), color="tab:gray", marker="o",
                markersize=3, label="learning rate")
        _mark_best(ax, run, ())
        _label(ax, "learning rate", "lr", epochs)
        _log_scale_if_wide(ax, [run.history["lr"]])
    for ax in axes[len(panels) + show_lr:]:
        ax.set_visible(False)
    count = f"{len(epochs)} epoch" + ("s" if len(epochs) != 1 else "")
    figure.suptitle(f"{run.name} ({run.state.replace('_', ' ')}, {count})")
    path = RunDir(run_dir).curves
    save_png(figure, path)
    return path


def curve_panels(history: dict[str, list]) -> list[tuple[str, list[str]]]:
    """(title, keys) per panel: each logged quantity with its validation twin."""
    panels: dict[str, list[str]] = {}
    for key in history:
        if key in NOT_CURVES:
            continue
        base = key[4:] if key.startswith("val_") else key
        panels.setdefault(base, []).append(key)
    order = sorted(panels, key=lambda base: (base != "loss", not base.endswith("loss")))
    return [(base, sorted(panels[base], key=lambda k: k.startswith("val_"))) for base in order]


def plot_runs(run_dirs: list[Path], metric: str | None, output: Path | None) -> tuple[str, Path]:
    """One quantity of several runs on one axis (default val_loss, else loss) in `output`
    (default plot_<quantity>.png); returns the quantity and the file."""
    runs = [read_run(Path(d)) for d in run_dirs]
    for run, path in zip(runs, run_dirs):
        if not run.history:
            raise TrainerError(f"{path}: no history.json with recorded epochs "
                               f"(is it a run directory?)")
    if metric is None:
        metric = "val_loss" if all("val_loss" in r.history for r in runs) else "loss"
    for run, path in zip(runs, run_dirs):
        if metric not in run.history:
            logged = ", ".join(k for k in run.history if k not in NOT_CURVES)
            raise TrainerError(f"{path}: no '{metric}' in its history (logged: {logged})")
    figure, (ax,) = _figure(1, width=8.0, height=5.0)
    longest: list[int] = []
    for run in runs:
        epochs = _epochs(run)
        longest = max(longest, epochs, key=len)
        line, = ax.plot(epochs, _series(run.history[metric], len(epochs)), marker="o",
                        markersize=3, label=run.name)
        if run.monitor == metric and run.best_epoch is not None:
            ax.plot([run.best_epoch], [run.best], marker="*", markersize=14, linestyle="none",
                    color=line.get_color(), markeredgecolor="black", clip_on=False, zorder=5,
                    label=f"{run.name}: best epoch {run.best_epoch}")
    _label(ax, f"{metric} by epoch", metric, longest)
    output = output or Path(f"plot_{metric}.png")
    save_png(figure, output)
    return metric, output


def _figure(panels: int, width: float = 5.0, height: float = 3.6) -> tuple[Any, list]:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    figure = Figure(figsize=(width * columns, height * rows + 0.5), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    return figure, axes


def _epochs(run: RunInfo) -> list[int]:
    """1-based epoch numbers of the recorded rows, as the progress lines count them."""
    rows = max((len(v) for k, v in run.history.items() if k not in NOT_CURVES), default=0)
    recorded = run.recorded_epochs
    return [e + 1 for e in recorded[:rows]] if len(recorded) >= rows else list(range(1, rows + 1))


def _series(values: list, length: int) -> list[float]:
    padded = list(values[:length]) + [None] * (length - len(values))
    return [math.nan if v is None else float(v) for v in padded]


def _mark_best(ax: Any, run: RunInfo, keys: list[str] | tuple) -> None:
    if run.best_epoch is None:
        return
    ax.axvline(run.best_epoch, color="tab:red", linestyle=":", linewidth=1.2,
               label=f"best epoch {run.best_epoch} ({run.monitor}={run.best:.4g})")
    if run.monitor in keys:
        ax.plot([run.best_epoch], [run.best], marker="*", markersize=14, color="tab:red",
                linestyle="none", clip_on=False, zorder=5)


def _log_scale_if_wide(ax: Any, series: list[list]) -> None:
    """A first-epoch loss ten times the later ones flattens a linear axis: use a log one."""
    values = [v for values in series for v in values if v is not None]
    if values and min(values) > 0 and max(values) >= 10 * min(values):
        ax.set_yscale("log")
        ax.set_ylabel(ax.get_ylabel() + " (log scale)")


def _label(ax: Any, title: str, ylabel: str, epochs: list[int]) -> None:
    from matplotlib.ticker import MaxNLocator
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if len(epochs) <= 12:  # whole epochs only (a locator puts fractions on a short axis)
        ax.set_xticks(epochs)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if epochs:  # room for the markers at both ends
        ax.set_xlim(epochs[0] - 0.3, epochs[-1] + 0.3)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def save_png(figure: Any, path: Path) -> None:
    """The figure as a PNG, written atomically (a kill never leaves half a file)."""
    atomic_write(Path(path), lambda handle: figure.savefig(handle, format="png", dpi=100))
