"""Data: sources (built-in MNIST, NumPy, HDF5, CSV, IDX, synthetic, image folders, joined
sources, the user's Python sources), transforms, splits, checks, and batch iteration in a
deterministic order (a permutation per (seed, epoch), so resume is exact): staged on the
device once, streamed from a file larger than the memory budget, or batch by batch from
Python. Knows nothing of models beyond their input/output names and shapes.
Layout: sources/ (one reader per format), transforms/ (data.transforms), iteration/ (batches);
here the splits of an experiment, their checks, the memory budget and predict's files."""
from .arrays import ArraySplit
from .checks import check_data_fits, check_targets
from .iteration import (Batch, DeviceBatches, PythonBatches, StreamBatches, epoch_plan,
                        first_batch, make_batches)
from .sources import load_split
from .sources.hdf5_stream import StreamSplit
from .splits import DataSplits, load_data, transform_inputs

__all__ = ["ArraySplit", "Batch", "DataSplits", "DeviceBatches", "PythonBatches", "StreamBatches",
           "StreamSplit", "check_data_fits", "check_targets", "epoch_plan", "first_batch", "load_data",
           "load_split", "make_batches", "transform_inputs"]
