"""Every optimizer, 25 steps on a fixed problem from the same weights as Keras 3 (torch
backend), with and without a schedule, clipping and weight decay: equal weights within 1e-5.
Schedules equal Keras's at every step; state survives a checkpoint round trip."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from keras_oracle import assert_close, keras
from trainer.engine.errors import ConfigError
from trainer.engine.optim import build_optimizer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STEPS = 25
OPTIMIZERS = {
    "SGD": {}, "SGD-momentum": {"type": "SGD", "momentum": 0.9},
    "SGD-nesterov": {"type": "SGD", "momentum": 0.8, "nesterov": True},
    "Adam": {}, "Adam-amsgrad": {"type": "Adam", "amsgrad": True, "beta_2": 0.9},
    "AdamW": {}, "RMSprop": {}, "RMSprop-momentum-centered": {"type": "RMSprop", "momentum": 0.5, "centered": True},
    "Nadam": {}, "Adamax": {}, "Adagrad": {}, "Adadelta": {"type": "Adadelta", "learning_rate": 1.0},
    "Lion": {},
}
EXTRAS = {
    "plain": {},
    "schedule+clipnorm": {"learning_rate": {"type": "ExponentialDecay", "initial_learning_rate": 0.05,
                                            "decay_steps": 5, "decay_rate": 0.5}, "clipnorm": 0.5},
    "global_clipnorm+decay": {"global_clipnorm": 0.3, "weight_decay": 0.1},
    "clipvalue": {"clipvalue": 0.05, "learning_rate": {"type": "CosineDecay",
                                                     "initial_learning_rate": 0.1, "decay_steps": 20}},
}


def keras_schedule(spec):
    if not isinstance(spec, dict):
        return spec
    args = {k: v for k, v in spec.items() if k != "type"}
    return getattr(keras.optimizers.schedules, spec["type"])(**args)


def gradient(step: int, w: np.ndarray) -> np.ndarray:
    """A fixed, weight-dependent gradient sequence (a quadratic bowl plus a seeded drift)."""
    drift = np.random.default_rng(step).normal(size=w.shape).astype("float32")
    return (2.0 * w - 1.0 + drift).astype("float32")


def run_ours(spec, init):
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in init]
    opt = build_optimizer(spec, params, "compile.optimizer")
    for step in range(STEPS):
        opt.zero_grad()
        for p in params:
            p.grad = torch.from_numpy(gradient(step, p.detach().numpy()))
        opt.step()
    return [p.detach().numpy() for p in params], opt


def run_keras(spec, init):
    args = {k: v for k, v in spec.items() if k != "type"}
    if "learning_rate" in args:
        args["learning_rate"] = keras_schedule(args["learning_rate"])
    opt = getattr(keras.optimizers, spec["type"])(**args)
    variables = [keras.Variable(w.copy()) for w in init]
    for step in range(STEPS):
        grads = [torch.from_numpy(gradient(step, keras.ops.convert_to_numpy(v))) for v in variables]
        opt.apply_gradients(zip(grads, variables))
    return [keras.ops.convert_to_numpy(v) for v in variables]


@pytest.mark.parametrize("extra", EXTRAS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_equals_keras(name, extra):
    spec = {"type": name.split("-")[0], **{k: v for k, v in OPTIMIZERS[name].items() if k != "type"}}
    spec.update(EXTRAS[extra])
    rng = np.random.default_rng(7)
    init = [rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")]
    ours, _ = run_ours(spec, init)
    theirs = run_keras(spec, init)
    for a, b in zip(ours, theirs):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


SCHEDULES = [
    {"type": "ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.7,
     "staircase": True},
    {"type": "PiecewiseConstantDecay", "boundaries": [3, 8], "values": [0.1, 0.05, 0.01]},
    {"type": "PolynomialDecay", "initial_learning_rate": 0.1, "decay_steps": 7, "power": 2.0},
    {"type": "PolynomialDecay", "initial_learning_rate": 0.1, "decay_steps": 4, "cycle": True},
    {"type": "InverseTimeDecay", "initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5},
    {"type": "CosineDecay", "initial_learning_rate": 0.0, "decay_steps": 10, "alpha": 0.1,
     "warmup_target": 0.2, "warmup_steps": 5},
    {"type": "CosineDecayRestarts", "initial_learning_rate": 0.1, "first_decay_steps": 3},
    {"type": "CosineDecayRestarts", "initial_learning_rate": 0.1, "first_decay_steps": 4,
     "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.05},
]


@pytest.mark.parametrize("spec", SCHEDULES, ids=lambda s: s["type"])
def test_schedule_equals_keras_every_step(spec):
    opt = build_optimizer({"type": "SGD", "learning_rate": spec},
                          [torch.nn.Parameter(torch.zeros(1))], "compile.optimizer")
    theirs = keras_schedule(spec)
    for step in range(STEPS):
        np.testing.assert_allclose(opt.schedule(step), float(theirs(step)), rtol=1e-5, atol=1e-8)


def test_lr_is_the_next_steps_rate_and_state_round_trips():
    spec = {"type": "Nadam", "learning_rate": SCHEDULES[0]}
    rng = np.random.default_rng(1)
    init = [rng.normal(size=(3,)).astype("float32")]
    _, first = run_ours(spec, init)
    assert first.iterations == STEPS
    assert first.lr == pytest.approx(0.1 * 0.7 ** (STEPS // 3))
    params = [torch.nn.Parameter(torch.from_numpy(init[0].copy()))]
    resumed = build_optimizer(spec, params, "compile.optimizer")
    resumed.load_state_dict(first.state_dict())
    assert resumed.iterations == STEPS and resumed.lr == first.lr
    assert resumed.optimizer.param_groups[0]["u_product"] == first.optimizer.param_groups[0]["u_product"]


@pytest.mark.parametrize("spec,message", [
    ("adamm", "did you mean 'Adam'"),
    ({"type": "SGD", "clipnorm": 1.0, "clipvalue": 1.0}, "only one of"),
    ({"type": "Adam", "beta1": 0.9}, "did you mean 'beta_1'"),
    ({"type": "SGD", "learning_rate": {"type": "ExponentialDecayy"}}, "did you mean 'ExponentialDecay'"),
])
def test_bad_optimizer_configs_name_the_problem(spec, message):
    with pytest.raises(ConfigError, match=message):
        build_optimizer(spec, [torch.nn.Parameter(torch.zeros(1))], "compile.optimizer")
