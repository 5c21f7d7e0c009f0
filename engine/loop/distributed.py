"""torch.distributed for `trainer fit` under torchrun: detect the environment, start the process
group (nccl on CUDA, gloo on CPU), and the few collectives the loop needs: summing metric
states so logged values are global, and agreeing on host-side flags (stop, interrupt).

Metric states are sums (totals, counts, confusion counts), so summing them across ranks gives
exactly the single-process state for the same global batches."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


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


def launched_by_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or (
        "RANK" in os.environ and "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ)


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
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank), device


def shutdown_distributed(context: DistContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def sum_metric_states(modules: dict[str, nn.Module], context: DistContext) -> None:
    """All-reduce (sum) every metric buffer in place: afterwards each rank holds the global state."""
    if not context.enabled:
        return
    buffers = [b for module in modules.values() for b in module.buffers()]
    if buffers:
        flat = torch.cat([b.reshape(-1).to(torch.float64) for b in buffers])
        dist.all_reduce(flat)
        offset = 0
        for b in buffers:
            b.copy_(flat[offset: offset + b.numel()].reshape(b.shape))
            offset += b.numel()


def any_rank(flag: bool, context: DistContext, device: torch.device) -> bool:
    """True on every rank when `flag` is true on any rank."""
    if not context.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
