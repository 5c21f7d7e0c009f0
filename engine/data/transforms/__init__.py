"""`data.transforms`: per-array steps (steps.py) and the pipelines that match them to model
inputs and outputs, fitted on the training split (pipelines.py)."""
from .pipelines import DataTransforms
from .steps import Pipeline, build_pipeline

__all__ = ["DataTransforms", "Pipeline", "build_pipeline"]
