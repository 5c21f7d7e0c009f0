"""Run state on disk: atomic writes, checkpoints (RNG included), the run-dir lock, status and
history files. Knows nothing of model architecture."""
