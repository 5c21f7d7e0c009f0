"""Training steps as readable plain code. `supervised` is the default; user recipes subclass
`Recipe` and are named in YAML as `recipe: path/to/file.py:MyRecipe` or `my_pkg.mod:MyRecipe`."""
from .base import RECIPES, Recipe
from . import supervised  # noqa: F401  (registers the built-in recipes)

__all__ = ["RECIPES", "Recipe"]
