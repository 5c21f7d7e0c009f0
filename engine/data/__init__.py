"""Data: sources (built-in MNIST, NumPy, HDF5, CSV, IDX, synthetic), transforms, splits, checks,
and batch iteration in a deterministic order (a permutation per (seed, epoch), so resume is
exact): staged on the device once, or streamed from an HDF5 file larger than the memory
budget. Knows nothing of models beyond their input/output names and shapes."""
from .arrays import ArraySplit
from .batches import Batch, DeviceBatches, epoch_plan
from .checks import check_data_fits
from .sources import load_split
from .splits import DataSplits, load_data, transform_inputs
from .stream_split import StreamSplit
from .streaming import StreamBatches, make_batches

__all__ = ["ArraySplit", "Batch", "DataSplits", "DeviceBatches", "StreamBatches", "StreamSplit",
           "check_data_fits", "epoch_plan", "load_data", "load_split", "make_batches",
           "transform_inputs"]
