"""Optimizers whose update is Keras 3's, as torch optimizers (Keras names and defaults).

torch's own Adam/RMSprop/Adagrad/Adamax put epsilon elsewhere, its SGD momentum does not scale
by the learning rate of each step (it differs under a schedule), and its weight decay is not
Keras's decoupled `w -= w * weight_decay * lr`, so each update is written here with torch's
`_foreach` ops: one kernel per op across all parameters, no host syncs. The step count and
every scalar factor live on the host as Python numbers, saved in `param_groups`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import OPTIMIZERS


def f32(x: float) -> np.float32:
    """Keras computes bias corrections in float32; 1 - 0.999**t loses digits there, and
    matching Keras to 1e-5 means losing the same ones."""
    return np.float32(x)


class KerasOptimizer(torch.optim.Optimizer):
    """Base: per group, `step` counter, decoupled weight decay, then `update` (the rule)."""

    #: per-parameter state slots created as zeros (or `initial_slot_values`) on first use
    slots: tuple[str, ...] = ()

    def __init__(self, params: Any, learning_rate: float, weight_decay: float | None, **hyper: Any):
        if learning_rate < 0:
            raise ValueError(f"learning_rate must be >= 0, got {learning_rate}")
        super().__init__(params, dict(lr=float(learning_rate), weight_decay=weight_decay or 0.0,
                                      step=0, **hyper))

    def initial_slot_value(self, group: dict, slot: str) -> float:
        return 0.0

    def _slots(self, group: dict, params: list[torch.Tensor]) -> dict[str, list[torch.Tensor]]:
        out: dict[str, list[torch.Tensor]] = {s: [] for s in self.slots}
        for p in params:
            state = self.state[p]
            for s in self.slots:
                if s not in state:
                    state[s] = torch.full_like(p, self.initial_slot_value(group, s),
                                               memory_format=torch.preserve_format)
                out[s].append(state[s])
        return out

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            group["step"] += 1
            if group["weight_decay"]:
                torch._foreach_mul_(params, 1.0 - group["weight_decay"] * group["lr"])
            self.update(group, params, grads, **self._slots(group, params))

    def update(self, group: dict, params: list, grads: list, **slots: list) -> None:
        raise NotImplementedError


@OPTIMIZERS.register("SGD")
class SGD(KerasOptimizer):
    """m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); plain: w -= lr*g."""

    slots = ("momentum_buffer",)

    def __init__(self, params, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None):
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        super().__init__(params, learning_rate, weight_decay, momentum=float(momentum),
                         nesterov=nesterov)
        if not momentum:
            self.slots = ()

    def update(self, group, params, grads, momentum_buffer=()):
        lr, momentum = group["lr"], group["momentum"]
        if not momentum:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        torch._foreach_mul_(momentum_buffer, momentum)
        torch._foreach_add_(momentum_buffer, grads, alpha=-lr)
        if group["nesterov"]:
            torch._foreach_add_(params, momentum_buffer, alpha=momentum)
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            torch._foreach_add_(params, momentum_buffer)


class _AdamFamily(KerasOptimizer):
    def __init__(self, params, learning_rate: float, beta_1: float, beta_2: float,
                 epsilon: float, weight_decay: float | None, **hyper: Any):
        super().__init__(params, learning_rate, weight_decay, beta_1=float(beta_1),
                         beta_2=float(beta_2), epsilon=float(epsilon), **hyper)


@OPTIMIZERS.register("Adam")
class Adam(_AdamFamily):
    """w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + epsilon)  (epsilon outside the
    bias correction, unlike torch.optim.Adam)."""

    slots = ("m", "v")

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None):
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, weight_decay,
                         amsgrad=amsgrad)
        if amsgrad:
            self.slots = ("m", "v", "v_hat")

    def update(self, group, params, grads, m, v, v_hat=None):
        t, b1, b2 = group["step"], group["beta_1"], group["beta_2"]
        alpha = float(f32(group["lr"]) * np.sqrt(f32(1) - f32(b2) ** f32(t))
                      / (f32(1) - f32(b1) ** f32(t)))
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        if v_hat is not None:
            torch._foreach_maximum_(v_hat, v)
            v = v_hat
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, group["epsilon"])
        torch._foreach_addcdiv_(params, m, denom, value=-alpha)


@OPTIMIZERS.register("AdamW")
class AdamW(Adam):
    """Adam with Keras's decoupled weight decay (default 0.004)."""

    def __init__(self, params, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False):
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay)


@OPTIMIZERS.register("Nadam")
class Nadam(_AdamFamily):
    """Keras Nadam: momentum schedule u_t = b1*(1 - 0.5*0.96^t); the running product of
    u_t is kept on the host in the param group."""

    slots = ("m", "v")

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, weight_decay: float | None = None):
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, weight_decay,
                         u_product=1.0)

    def update(self, group, params, grads, m, v):
        b1, b2 = group["beta_1"], group["beta_2"]
        t, one = f32(group["step"]), f32(1)
        u_t = f32(b1) * (one - f32(0.5) * f32(0.96) ** t)
        u_next = f32(b1) * (one - f32(0.5) * f32(0.96) ** (t + one))
        u_product = f32(group["u_product"]) * u_t
        group["u_product"] = float(u_product)
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        m_hat = torch._foreach_mul(m, float(u_next / (one - u_product * u_next)))
        torch._foreach_add_(m_hat, grads, alpha=float((one - u_t) / (one - u_product)))
        denom = torch._foreach_div(v, float(one - f32(b2) ** t))
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, group["epsilon"])
        torch._foreach_addcdiv_(params, m_hat, denom, value=-group["lr"])


@OPTIMIZERS.register("Adamax")
class Adamax(_AdamFamily):
    """u = max(b2*u, |g|); w -= lr * m / ((1 - b1^t) * (u + epsilon))."""

    slots = ("m", "u")

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, weight_decay: float | None = None):
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, weight_decay)

    def update(self, group, params, grads, m, u):
        b1 = group["beta_1"]
        correction = float(f32(1) - f32(b1) ** f32(group["step"]))
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_mul_(u, group["beta_2"])
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denom = torch._foreach_add(u, group["epsilon"])
        torch._foreach_addcdiv_(params, m, denom, value=-group["lr"] / correction)


@OPTIMIZERS.register("RMSprop")
class RMSprop(KerasOptimizer):
    """v = rho*v + (1-rho)*g^2; w -= lr*g / sqrt(v (- mean_g^2 if centered) + epsilon),
    through a momentum buffer when momentum > 0."""

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None):
        super().__init__(params, learning_rate, weight_decay, rho=float(rho),
                         momentum=float(momentum), epsilon=float(epsilon), centered=centered)
        self.slots = ("velocity",) + (("momentum_buffer",) if momentum > 0 else ()) + (
            ("average_gradient",) if centered else ())

    def update(self, group, params, grads, velocity, momentum_buffer=None, average_gradient=None):
        rho = group["rho"]
        torch._foreach_mul_(velocity, rho)
        torch._foreach_addcmul_(velocity, grads, grads, value=1 - rho)
        if average_gradient is not None:
            torch._foreach_lerp_(average_gradient, grads, 1 - rho)
            denom = torch._foreach_addcmul(velocity, average_gradient, average_gradient, value=-1)
            torch._foreach_add_(denom, group["epsilon"])
        else:
            denom = torch._foreach_add(velocity, group["epsilon"])
        torch._foreach_sqrt_(denom)
        if momentum_buffer is None:
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])
            return
        torch._foreach_mul_(momentum_buffer, group["momentum"])
        torch._foreach_addcdiv_(momentum_buffer, grads, denom, value=group["lr"])
        torch._foreach_sub_(params, momentum_buffer)


@OPTIMIZERS.register("Adagrad")
class Adagrad(KerasOptimizer):
    """acc += g^2; w -= lr * g / sqrt(acc + epsilon) (acc starts at 0.1)."""

    slots = ("accumulator",)

    def __init__(self, params, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None):
        super().__init__(params, learning_rate, weight_decay, epsilon=float(epsilon),
                         initial_accumulator_value=float(initial_accumulator_value))

    def initial_slot_value(self, group: dict, slot: str) -> float:
        return group["initial_accumulator_value"]

    def update(self, group, params, grads, accumulator):
        torch._foreach_addcmul_(accumulator, grads, grads)
        denom = torch._foreach_add(accumulator, group["epsilon"])
        torch._foreach_sqrt_(denom)
        torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])


@OPTIMIZERS.register("Adadelta")
class Adadelta(KerasOptimizer):
    """Keras Adadelta (lr 0.001, rho 0.95): delta = -sqrt(acc_delta+eps)/sqrt(acc_g+eps) * g."""

    slots = ("accumulated_grad", "accumulated_delta")

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.95,
                 epsilon: float = 1e-7, weight_decay: float | None = None):
        super().__init__(params, learning_rate, weight_decay, rho=float(rho), epsilon=float(epsilon))

    def update(self, group, params, grads, accumulated_grad, accumulated_delta):
        rho, eps = group["rho"], group["epsilon"]
        torch._foreach_mul_(accumulated_grad, rho)
        torch._foreach_addcmul_(accumulated_grad, grads, grads, value=1 - rho)
        delta = torch._foreach_add(accumulated_delta, eps)
        torch._foreach_sqrt_(delta)
        denom = torch._foreach_add(accumulated_grad, eps)
        torch._foreach_sqrt_(denom)
        torch._foreach_div_(delta, denom)
        torch._foreach_mul_(delta, grads)  # the step is -lr * delta
        torch._foreach_mul_(accumulated_delta, rho)
        torch._foreach_addcmul_(accumulated_delta, delta, delta, value=1 - rho)
        torch._foreach_add_(params, delta, alpha=-group["lr"])


@OPTIMIZERS.register("Lion")
class Lion(KerasOptimizer):
    """w -= lr * sign(b1*m + (1-b1)*g); m = b2*m + (1-b2)*g."""

    slots = ("m",)

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.99, weight_decay: float | None = None):
        super().__init__(params, learning_rate, weight_decay, beta_1=float(beta_1),
                         beta_2=float(beta_2))

    def update(self, group, params, grads, m):
        direction = torch._foreach_lerp(m, grads, 1 - group["beta_1"])
        torch._foreach_sign_(direction)
        torch._foreach_add_(params, direction, alpha=-group["lr"])
        torch._foreach_lerp_(m, grads, 1 - group["beta_2"])
