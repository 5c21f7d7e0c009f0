"""StreamBatches: batches of a StreamSplit read from its HDF5 file by a background thread.

An epoch cuts the split into contiguous chunks, visits them in an order drawn from
(seed, epoch), groups consecutive chunks into windows and permutes the rows within each window
(the same draw). The epoch's row order is thus fixed by (seed, epoch), so a resume at step k is
exact. The thread reads, transforms, permutes and moves a window to the device while the
previous one trains; at most a few windows (a fraction of the budget) are alive at once."""
from __future__ import annotations

import math
import queue
import threading
from typing import Any, Iterator

import numpy as np
import torch

from .device_batches import Batch, assemble, to_tensor
from ..sources.hdf5_stream import StreamSplit

CHUNKS_PER_WINDOW = 8
# A window is at most budget / WINDOW_SHARE bytes. Alive per iterator: the window being
# consumed, one queued, and one being built (about twice its size while it is permuted);
# a train and a validation iterator may be alive together.
WINDOW_SHARE = 12
_END = object()


class StreamBatches:
    def __init__(self, split: StreamSplit, batch_size: int, device: torch.device,
                 shuffle: bool = False, seed: int = 0):
        self.split = split
        self.size = len(split)
        self.batch_size = batch_size
        self.device = device
        self.shuffle = shuffle
        self.seed = seed
        window_rows = max(batch_size, split.budget // WINDOW_SHARE // max(split.row_bytes, 1))
        rows = max(1, window_rows // CHUNKS_PER_WINDOW)
        align = max(1, split.file_chunk_rows)  # read whole HDF5 chunks when they fit a window
        if rows >= align:
            self.chunk_rows, self.window_chunks = rows // align * align, CHUNKS_PER_WINDOW
        elif window_rows >= align:
            self.chunk_rows, self.window_chunks = align, window_rows // align
        else:
            self.chunk_rows, self.window_chunks = rows, CHUNKS_PER_WINDOW

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def windows(self, epoch: int) -> list[list[tuple[int, int]]]:
        """The epoch's windows, each a list of (start, stop) row ranges of the split."""
        chunks = [(start, min(start + self.chunk_rows, self.size))
                  for start in range(0, self.size, self.chunk_rows)]
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(chunks))
            chunks = [chunks[i] for i in order]
        return [sorted(chunks[i: i + self.window_chunks])
                for i in range(0, len(chunks), self.window_chunks)]

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        windows = self.windows(epoch)
        skip = start_step * self.batch_size
        first = 0
        while first < len(windows) and skip >= _rows(windows[first]):
            skip -= _rows(windows[first])
            first += 1
        if first == len(windows):
            return
        feed: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()
        worker = threading.Thread(target=self._produce, daemon=True,
                                  args=(epoch, windows, first, feed, stop))
        worker.start()
        try:
            yield from self._batches(_received(feed), skip)
        finally:
            stop.set()
            while worker.is_alive():
                _drain(feed)
                worker.join(timeout=0.05)

    def _produce(self, epoch: int, windows: list, first: int, feed: queue.Queue,
                 stop: threading.Event) -> None:
        try:
            with self.split.open() as handle:
                for index in range(first, len(windows)):
                    if stop.is_set():
                        return
                    _put(feed, self._load(handle, windows[index], epoch, index), stop)
            _put(feed, _END, stop)
        except BaseException as exc:  # handed to the consumer, raised there
            _put(feed, exc, stop)

    def _load(self, handle: Any, ranges: list[tuple[int, int]], epoch: int, index: int
              ) -> list[torch.Tensor | None]:
        """One window as tensors on the device, rows permuted: [*x, *y, sample_weight]."""
        part = self.split.read(handle, ranges, transform=False)
        if self.shuffle:  # before the transforms (all row-wise): the raw rows are the smallest
            part = part.take(np.random.default_rng([self.seed, epoch, index]).permutation(len(part)))
        part = self.split.finished(part)  # transforms, then fit.class_weight's sample weights
        weights = None if part.sample_weight is None else part.sample_weight.astype(np.float32)
        arrays = [*part.x.values(), *(part.y or {}).values(), weights]
        return [None if a is None else to_tensor(a, self.device) for a in arrays]

    def _batches(self, windows: Iterator[list], skip: int) -> Iterator[Batch]:
        """Cut the stream of windows into batches; a batch may span two windows."""
        size = self.batch_size
        carry: list | None = None
        for window in windows:
            rows, pos = len(_first(window)), skip
            skip = 0
            if carry is not None:
                take = min(size - len(_first(carry)), rows)
                carry = [None if c is None else torch.cat([c, t[:take]]) for c, t in zip(carry, window)]
                pos = take
                if len(_first(carry)) < size:
                    continue
                yield self._batch(carry)
                carry = None
            while rows - pos >= size:
                yield self._batch([None if t is None else t[pos: pos + size] for t in window])
                pos += size
            if pos < rows:  # a copy, so the window itself can be freed
                carry = [None if t is None else t[pos:].clone() for t in window]
        if carry is not None:
            yield self._batch(carry)

    def _batch(self, tensors: list) -> Batch:
        names_x = list(self.split.x_keys)
        names_y = list(self.split.y_keys or {})
        x = dict(zip(names_x, tensors[: len(names_x)]))
        y = dict(zip(names_y, tensors[len(names_x): len(names_x) + len(names_y)])) or None
        return assemble(x, y, tensors[-1])


def _rows(ranges: list[tuple[int, int]]) -> int:
    return sum(stop - start for start, stop in ranges)


def _first(tensors: list) -> torch.Tensor:
    return next(t for t in tensors if t is not None)


def _received(feed: queue.Queue) -> Iterator[list]:
    while True:
        item = feed.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def _put(feed: queue.Queue, item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            feed.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _drain(feed: queue.Queue) -> None:
    try:
        while True:
            feed.get_nowait()
    except queue.Empty:
        pass
