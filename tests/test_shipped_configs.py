"""Every shipped config passes `trainer validate` from any working directory (its user
components are found next to it)."""
from __future__ import annotations

import pytest

from conftest import CONFIGS

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.yaml"))


def test_the_expected_configs_ship():
    for name in ("mnist.yaml", "mnist_cnn.yaml", "multi_io.yaml", "residual_regressor.yaml",
                 "huber_regression.yaml", "gan_mnist.yaml", "linear_regression.yaml",
                 "reconstructing_regressor.yaml", "loss_history.yaml", "mnist_fast.yaml"):
        assert name in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_validates(cli, name):
    result = cli("validate", CONFIGS / name)
    assert result.exit_code == 0, result.output
    assert "checked" in result.stdout
