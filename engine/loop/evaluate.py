"""Evaluation and prediction over batches, in eval mode without gradients."""
from __future__ import annotations

from typing import Any, Callable

import torch

from .precision import autocast
from .step_logs import check_step_logs, read_step_logs


@torch.no_grad()
def evaluate_batches(recipe: Any, batches: Any, callbacks: Any = None, precision: str = "32",
                     device: torch.device | None = None, max_steps: int | None = None,
                     before_results: Callable[[], None] | None = None) -> dict[str, float]:
    """Reset metrics, run test_step over the batches, return the results as floats.
    `before_results` runs before they are read (DDP: sums the ranks' metric states)."""
    recipe.reset_metrics()
    if callbacks is not None:
        callbacks.on_test_begin()
    logs: Any = {}
    context = autocast(precision, device or batches.device)
    for step, batch in enumerate(batches.epoch(0)):
        if max_steps is not None and step >= max_steps:
            break
        if callbacks is not None:
            callbacks.on_test_batch_begin(step)
        with context:
            logs = recipe.test_step(batch)
        check_step_logs(logs, recipe, "test_step")
        if callbacks is not None:
            callbacks.on_test_batch_end(step, logs)
    if before_results is not None:
        before_results()
    results = read_step_logs(logs, recipe, "test_step")
    if callbacks is not None:
        callbacks.on_test_end(results)
    return results


@torch.no_grad()
def predict_batches(recipe: Any, batches: Any, precision: str = "32") -> Any:
    """Concatenated predictions (a tensor, or a dict of tensors for several outputs), on CPU."""
    parts: list[Any] = []
    context = autocast(precision, batches.device)
    for batch in batches.epoch(0):
        with context:
            out = recipe.predict_step(batch)
        parts.append({k: v.float().cpu() for k, v in out.items()} if isinstance(out, dict)
                     else out.float().cpu())
    if parts and isinstance(parts[0], dict):
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    return torch.cat(parts) if parts else torch.empty(0)
