"""Optimizers whose update is Keras's (epsilon placement and defaults), as torch optimizers.

Updates use torch's `_foreach` ops: one kernel per op across all parameters, no host syncs.
"""
from __future__ import annotations

import torch

from .base import OPTIMIZERS


@OPTIMIZERS.register("RMSprop")
class RMSprop(torch.optim.Optimizer):
    """Keras RMSprop: v = rho*v + (1-rho)*g^2; w -= lr * g / sqrt(v + epsilon)."""

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.9,
                 epsilon: float = 1e-7):
        super().__init__(params, dict(lr=learning_rate, rho=rho, epsilon=epsilon))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            velocities = [self._velocity(p) for p in params]
            torch._foreach_mul_(velocities, group["rho"])
            torch._foreach_addcmul_(velocities, grads, grads, value=1 - group["rho"])
            denom = torch._foreach_add(velocities, group["epsilon"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])

    def _velocity(self, p: torch.Tensor) -> torch.Tensor:
        state = self.state[p]
        if "velocity" not in state:
            state["velocity"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state["velocity"]


@OPTIMIZERS.register("SGD")
def sgd(params, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
    return torch.optim.SGD(params, lr=learning_rate, momentum=momentum, nesterov=nesterov,
                           foreach=True)
