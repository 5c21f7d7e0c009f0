"""torch.distributed for `trainer fit` under torchrun: detect the environment, start the process
group (nccl on CUDA, gloo on CPU), and the few collectives the loop needs: reducing metric
states so logged values are global, and agreeing on host-side flags (stop, interrupt).

Each metric declares its states and how they combine (`Metric.add_state(..., reduction=)`:
totals, counts and confusion counts are sums), so reducing them across ranks gives exactly the
single-process state for the same global batches. Configuration buffers (thresholds) are left
alone."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..torchrun_env import launched_by_torchrun


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = DistContext()


def init_distributed(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the torchrun process group (no-op outside torchrun). Returns the context and this
    rank's device (cuda:LOCAL_RANK on GPUs)."""
    if not launched_by_torchrun():
        return SINGLE, device
    world = int(os.environ["WORLD_SIZE"])
    if world == 1:
        return SINGLE, device
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                store=_store_of_this_attempt(), rank=int(os.environ["RANK"]),
                                world_size=world)
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank), device


def _store_of_this_attempt() -> dist.Store:
    """torchrun's key-value store, under a prefix of its own for each restart of the group.

    torchrun (`--max-restarts`) keeps one TCPStore for all restarts of a worker group, and
    the process group's keys (each rank's gloo address, the start-up barrier's counters) are
    not scoped by attempt: a restarted group would read the dead group's keys and connect to
    addresses nobody listens on any more, or wait forever at the barrier."""
    store, _, _ = next(dist.rendezvous("env://"))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return dist.PrefixStore(f"trainer/attempt-{attempt}", store)


def shutdown_distributed(context: DistContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


_REDUCE_OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


def metric_states(modules: dict[str, nn.Module]) -> list[tuple[torch.Tensor, str]]:
    """Every declared state of every metric inside `modules`, with its reduction."""
    return [(getattr(metric, name), reduction)
            for module in modules.values() for metric in module.modules()
            for name, reduction in getattr(metric, "state_reductions", {}).items()]


def reduce_metric_states(modules: dict[str, nn.Module], context: DistContext) -> None:
    """All-reduce every metric state in place with its declared reduction (one collective per
    kind of reduction): afterwards each rank holds the global state."""
    if not context.enabled:
        return
    states = metric_states(modules)
    for reduction, op in _REDUCE_OPS.items():
        group = [state for state, wanted in states if wanted == reduction]
        if not group:
            continue
        flat = torch.cat([state.reshape(-1).to(torch.float64) for state in group])
        dist.all_reduce(flat, op=op)
        offset = 0
        for state in group:
            state.copy_(flat[offset: offset + state.numel()].reshape(state.shape))
            offset += state.numel()


@contextlib.contextmanager
def global_metric_state(modules: dict[str, nn.Module], context: DistContext) -> Iterator[None]:
    """Inside: every rank's metric states hold the global state. Afterwards each rank gets its
    own partial state back, so later reductions do not count anything twice."""
    if not context.enabled:
        yield
        return
    states = [state for state, _ in metric_states(modules)]
    local = [state.clone() for state in states]
    reduce_metric_states(modules, context)
    try:
        yield
    finally:
        for state, saved in zip(states, local):
            state.copy_(saved)


def from_main(value, context: DistContext):
    """Rank 0's `value` on every rank (for decisions only rank 0 may take, like a new run dir)."""
    if not context.enabled:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def any_rank(flag: bool, context: DistContext, device: torch.device) -> bool:
    """True on every rank when `flag` is true on any rank."""
    if not context.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


class DistributedModel(DistributedDataParallel):
    """DDP that still looks like the wrapped model: its attributes (regularization_loss,
    apply_constraints, input_names, ...) and its state_dict keys (no `module.` prefix), so
    recipes, callbacks and checkpoints need not know about DDP."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


def wrap_models(models: dict[str, nn.Module], context: DistContext, device: torch.device) -> None:
    """Replace each trainable model in place (the recipe holds the same dict) by its DDP wrapper."""
    if not context.enabled:
        return
    for name, model in models.items():
        if any(p.requires_grad for p in model.parameters()):
            ids = [device.index] if device.type == "cuda" else None
            models[name] = DistributedModel(model, device_ids=ids)


class ShardedBatches:
    """Each rank's share of every global batch: the global batch is what a single process
    would train on, split into `world_size` near-equal contiguous parts. A final batch with
    fewer samples than ranks is skipped on every rank (it cannot be split)."""

    def __init__(self, batches, context: DistContext):
        self.batches = batches
        self.context = context
        self.device = batches.device

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(self, data_pass: int, start_step: int = 0):
        for batch in self.batches.epoch(data_pass, start_step):
            size = _batch_size(batch.x)
            if size < self.context.world_size:
                continue
            yield type(batch)(*(_shard(part, self.context) for part in batch))


def _shard(value, context: DistContext):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _shard(v, context) for k, v in value.items()}
    return torch.tensor_split(value, context.world_size)[context.rank]


def _batch_size(x) -> int:
    return (next(iter(x.values())) if isinstance(x, dict) else x).shape[0]
