"""Package discovery (pyproject.toml holds everything else): the top-level folders install
under one import namespace, cli/ -> trainer.cli, engine/ -> trainer.engine, recipes/ ->
trainer.recipes, with every sub-folder found rather than listed by hand."""
from setuptools import find_namespace_packages, setup

ROOTS = {"trainer.cli": "cli", "trainer.engine": "engine", "trainer.recipes": "recipes"}

setup(
    package_dir=ROOTS,
    packages=[name for prefix, folder in ROOTS.items()
              for name in (prefix, *(f"{prefix}.{sub}" for sub in
                                     find_namespace_packages(folder, exclude=["*__pycache__*"])))],
)
