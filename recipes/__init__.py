"""Training steps as readable plain code. `supervised` is the default; `gan`,
`linear_regression` and `reconstructing_regressor` ship as examples. User recipes subclass
`Recipe` and are named in YAML as `recipe: path/to/file.py:MyRecipe` or `my_pkg.mod:MyRecipe`."""
from .base import RECIPES, Recipe
from . import gan, linear_regression, reconstructing_regressor, supervised  # noqa: F401  (registers them)

__all__ = ["RECIPES", "Recipe"]
