"""Data: sources (built-in MNIST, files, synthetic), transforms, splits, and batch iteration in
a deterministic order (a permutation per (seed, epoch), so resume is exact). Knows nothing of models."""
from .arrays import ArraySplit
from .batches import Batch, DeviceBatches
from .sources import load_split
from .splits import DataSplits, load_data

__all__ = ["ArraySplit", "Batch", "DataSplits", "DeviceBatches", "load_data", "load_split"]
