"""`trainer runs` as a terminal table: aligned columns, short times, config differences as
`key=value` pairs (the keys whose values differ between the listed runs)."""
from __future__ import annotations

import json
from typing import Any

from trainer.engine.runs import COLUMN_SORTS, UNSET, RunInfo

MAX_DIFFERENCES = 6
MAX_VALUE = 32


def runs_table(runs: list[RunInfo], sort: str | None = None) -> str:
    header = ["name", "state", "epochs", "best", "at epoch", "time"]
    extra = sort.lstrip("-") if sort and sort.lstrip("-") not in COLUMN_SORTS else None
    if extra:
        header.append(("highest " if sort.startswith("-") else "lowest ") + extra)
    header.append("config differences")
    rows = []
    for run in runs:
        row = [run.name, run.state, str(run.epochs), run.best_text,
               "-" if run.best_epoch is None else str(run.best_epoch), duration(run.wall_seconds)]
        if extra:
            value = run.extreme(extra, highest=sort.startswith("-"))
            row.append("-" if value is None else f"{value:.4f}")
        row.append(differences_text(run.differences))
        rows.append(row)
    return aligned(header, rows)


def aligned(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in [header, *rows])


def sweep_table(report: Any) -> str:
    """`trainer sweep --status`: one line per trial, then the best trial and its run dir."""
    header = ["trial", "state", report.metric, "epochs", "time", "params"]
    rows = [[str(r.number), r.state, "-" if r.value is None else f"{r.value:.6g}", str(r.epochs),
             duration(r.seconds), " ".join(f"{k}={_param(v)}" for k, v in r.params.items())]
            for r in report.rows]
    lines = [aligned(header, rows)]
    counts = {}
    for row in report.rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    wanted = f" of {report.trials_wanted}" if report.trials_wanted else ""
    lines.append(f"{len(report.rows)} trials{wanted}: "
                 + ", ".join(f"{n} {state}" for state, n in counts.items()))
    if report.best is not None:
        lines.append(f"best: trial {report.best.number}, {report.metric}={report.best.value:.6g} "
                     f"({report.direction}), run dir {report.best.run_dir}")
    lines += [f"wrote {path}" for path in report.files]
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    """1.2s, 3m05s, 2h03m."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def differences_text(differences: dict[str, Any]) -> str:
    """`key=value ...`, long values cut, at most MAX_DIFFERENCES pairs (--json has them all)."""
    pairs = [f"{k}={_value(v)}" for k, v in differences.items()]
    if len(pairs) > MAX_DIFFERENCES:
        hidden = len(pairs) - MAX_DIFFERENCES
        pairs = pairs[:MAX_DIFFERENCES] + [f"(+{hidden} more; --json lists all)"]
    return " ".join(pairs) or "-"


def _param(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else _value(value)


def _value(value: Any) -> str:
    if value is UNSET:
        return "unset"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."
