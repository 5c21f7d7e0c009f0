"""User recipes: a custom step loaded from a file keeps fit's conveniences (history,
validation, checkpoints, evaluate), gets its YAML arguments, and a recipe that breaks the
contract gets a clear error naming it."""
from __future__ import annotations

import math
import shutil

import yaml

from conftest import CONFIGS, read_json, sets, write_config

REGRESSION = {
    "name": "my_step",
    "seed": 3,
    "data": {"train": {"source": "synthetic", "generator": "regression", "samples": 600,
                       "features": 4}},
    "model": {"inputs": {"features": [4]},
              "layers": [{"type": "Dense", "units": 16, "activation": "relu"},
                         {"type": "Dense", "units": 1}]},
    "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.05}},
    "fit": {"batch_size": 50, "epochs": 3, "validation_split": 0.2},
}


def write_recipe_config(folder, recipe, **changes) -> str:
    return str(write_config(folder, {**REGRESSION, "recipe": recipe, **changes}, "exp.yaml"))


def test_user_recipe_from_a_file_path_trains_validates_and_evaluates(cli, workdir):
    shutil.copy(CONFIGS / "recipes" / "my_step.py", workdir / "my_step.py")
    config = write_recipe_config(workdir, {"type": "my_step.py:MyStep", "l1": 0.001})
    result = cli("fit", config)
    assert result.exit_code == 0, result.output
    run = workdir / "runs" / "my_step"
    history = read_json(run / "history.json")["history"]
    assert set(history) == {"loss", "mae", "l1_penalty", "val_loss", "val_mae", "lr", "seconds"}
    for name in ("loss", "mae", "l1_penalty", "val_loss", "val_mae"):
        assert len(history[name]) == 3 and all(math.isfinite(v) for v in history[name]), name
    assert all(v > 0 for v in history["l1_penalty"])
    assert history["val_loss"][-1] < history["val_loss"][0]
    # The checkpoint names the recipe file; trusted, evaluate rebuilds it and runs its test_step.
    evaluated = cli("evaluate", "--ckpt", run / "checkpoints" / "last.pt", "--split", "train",
                    "--json", "--trust-checkpoint-code")
    assert evaluated.exit_code == 0, evaluated.output
    assert set(yaml.safe_load(evaluated.stdout)) == {"loss", "mae"}


def test_recipe_file_next_to_the_config_gets_recipe_args(cli, workdir):
    folder = workdir / "experiments"
    folder.mkdir()
    shutil.copy(CONFIGS / "recipes" / "my_step.py", folder / "my_step.py")
    config = write_recipe_config(folder, "my_step.py:MyStep", recipe_args={"l1": 0.0})
    assert cli("fit", config).exit_code == 0
    history = read_json(workdir / "runs" / "my_step" / "history.json")["history"]
    assert history["l1_penalty"] == [0.0, 0.0, 0.0]


BROKEN = '''
import torch
from trainer.recipes import Recipe


class ReturnsTensor(Recipe):
    def train_step(self, batch):
        x, y, _ = batch
        loss = torch.mean((self.model(x) - y) ** 2)
        self.minimize(loss, self.optimizer)
        return loss


class ReturnsNaN(Recipe):
    def train_step(self, batch):
        x, y, _ = batch
        loss = torch.mean((self.model(x) - y) ** 2)
        self.minimize(loss, self.optimizer)
        return {"loss": loss * float("nan")}


class NotARecipe:
    pass
'''


def test_step_returning_a_non_mapping_names_the_recipe(cli, workdir):
    (workdir / "broken.py").write_text(BROKEN)
    result = cli("fit", write_recipe_config(workdir, "broken.py:ReturnsTensor", fit={"epochs": 1}))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: recipe ReturnsTensor.train_step returned Tensor; "
                                    "it must return a mapping"), result.stderr
    assert read_json(workdir / "runs" / "my_step" / "status.json")["state"] == "failed"


def test_non_finite_loss_stops_as_diverged_naming_the_recipe(cli, workdir):
    (workdir / "broken.py").write_text(BROKEN)
    result = cli("fit", write_recipe_config(workdir, "broken.py:ReturnsNaN", fit={"epochs": 3}))
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert "recipe ReturnsNaN.train_step returned a non-finite loss (loss=nan) in epoch 1" \
        in result.stderr
    status = read_json(workdir / "runs" / "my_step" / "status.json")
    assert status["state"] == "diverged"


def test_recipe_config_mistakes_fail_before_anything_is_written(cli, workdir):
    (workdir / "broken.py").write_text(BROKEN)
    shutil.copy(CONFIGS / "recipes" / "my_step.py", workdir / "my_step.py")
    written = workdir / write_recipe_config(workdir, {"type": "my_step.py:MyStep", "l2": 0.1})
    l2_line = 1 + next(i for i, line in enumerate(written.read_text().splitlines())
                       if "l2:" in line)
    cases = [
        ({"type": "my_step.py:MyStep", "l2": 0.1}, f"exp.yaml:{l2_line}): unknown argument 'l2' "
         "for recipe MyStep; accepted: l1"),
        ("broken.py:NotARecipe", "'broken.py:NotARecipe' is not a recipe"),
        ("nope.py:MyStep", "file 'nope.py' not found"),
        ("gann", "unknown recipe 'gann' (did you mean 'gan'?)"),
        ("gan", "recipe GAN needs models named discriminator, generator"),
        ("broken.py:ReturnsTensor", "recipe ReturnsTensor has no test_step, so it cannot validate"),
    ]
    for recipe, expected in cases:
        result = cli("fit", write_recipe_config(workdir, recipe))
        assert result.exit_code == 2, (recipe, result.output)
        assert expected in result.stderr and "Traceback" not in result.output, result.stderr
        assert not (workdir / "runs").exists()


def test_gan_needs_one_optimizer_per_model(cli, workdir):
    result = cli("fit", CONFIGS / "gan_mnist.yaml", *sets("compile.optimizers=null"))
    assert result.exit_code == 2, result.output
    assert "recipe GAN needs an optimizer for discriminator, generator" in result.stderr
    assert not (workdir / "runs").exists()
