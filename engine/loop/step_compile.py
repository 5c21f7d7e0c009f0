"""The train step the fit loop calls: the recipe's own, or with `compile.jit_compile: step` the
whole step under torch.compile (Keras's `jit_compile`): forward, loss, backward and the metric
updates run as compiled graphs; the optimizer update stays eager, because its step counts,
schedules and bias corrections are host numbers that would recompile a graph at every step
(the update is a handful of multi-tensor `_foreach` kernels anyway).

Only full batches take the compiled path: a smaller last batch runs the same step eagerly, so
the compiled graphs see one static shape (with `jit_mode: reduce-overhead` on CUDA: CUDA graphs
recorded once and replayed every step, never re-recorded for the last batch)."""
from __future__ import annotations

from typing import Any, Callable

import torch



def train_step_function(recipe: Any, compile_cfg: Any, full_batch: int) -> Callable[[Any], Any]:
    """What the loop calls per batch: `recipe.train_step`, or its compiled form."""
    if compile_cfg.jit_compile != "step":
        return recipe.train_step
    return CompiledStep(recipe, compile_cfg, full_batch)


def local_batch_size(batch_size: int, world_size: int, rank: int) -> int:
    """This rank's share of a full global batch (as ShardedBatches splits it)."""
    share, extra = divmod(batch_size, world_size)
    return share + (1 if rank < extra else 0)


class CompiledStep:
    def __init__(self, recipe: Any, compile_cfg: Any, full_batch: int):
        for optimizer in recipe.optimizers.values():
            _keep_eager(optimizer)
        self.full_batch = full_batch
        self.eager = recipe.train_step
        self.compiled = torch.compile(
            recipe.train_step, backend=compile_cfg.jit_backend, dynamic=False,
            mode=None if compile_cfg.jit_mode == "default" else compile_cfg.jit_mode)

    def __call__(self, batch: Any) -> Any:
        x = batch.x
        size = (next(iter(x.values())) if isinstance(x, dict) else x).shape[0]
        return (self.compiled if size == self.full_batch else self.eager)(batch)


def _keep_eager(optimizer: Any) -> None:
    """Run this optimizer's update (and its fp16 scaler's bookkeeping) outside the compiled
    graphs: the instance's own methods are replaced by compiler-disabled versions of
    themselves, so an eager run elsewhere pays nothing for it. Idempotent (a loop built again
    over the same optimizer wraps nothing twice)."""
    if getattr(optimizer.step, "_torchdynamo_disable", False):
        return
    optimizer.zero_grad = torch.compiler.disable(optimizer.zero_grad)
    optimizer.step = torch.compiler.disable(optimizer.step)
    if getattr(optimizer, "scaler", None) is not None:
        optimizer.scaler.update = torch.compiler.disable(optimizer.scaler.update)
