"""Training steps as readable plain code. `supervised` is the default; `gan`,
`linear_regression` and `reconstructing_regressor` ship as examples. User recipes subclass
`Recipe` (the contract, in trainer.engine.recipe) and are named in YAML as `recipe: path/to/file.py:MyRecipe` or `my_pkg.mod:MyRecipe`."""
from trainer.engine.recipe import RECIPES, Recipe

__all__ = ["RECIPES", "Recipe"]
