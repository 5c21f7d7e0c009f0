"""A tiny PNG writer (8-bit grayscale or RGB, zlib + struct, no image library) and the tiling
of a batch of images into one grid, for recipes that save samples to the run directory."""
from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np

from trainer.engine.state.atomic import atomic_write

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_grid(images: np.ndarray, columns: int | None = None, gap: int = 2) -> np.ndarray:
    """[n, C, H, W] (or [n, H, W]) floats in [0, 1], C = 1 or 3 -> one [rows*H, columns*W(, 3)]
    uint8 image, tiles separated by `gap` black pixels."""
    if images.ndim == 3:
        images = images[:, None]
    n, channels, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((channels, rows * (height + gap) - gap, columns * (width + gap) - gap), np.uint8)
    pixels = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    for i in range(n):
        top, left = (i // columns) * (height + gap), (i % columns) * (width + gap)
        grid[:, top: top + height, left: left + width] = pixels[i]
    return grid[0] if channels == 1 else grid.transpose(1, 2, 0)


def write_png(path: Path, pixels: np.ndarray) -> None:
    """Write [H, W] (grayscale) or [H, W, 3] (RGB) uint8 pixels as a PNG file, atomically."""
    height, width = pixels.shape[:2]
    color_type = 0 if pixels.ndim == 2 else 2
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    data = (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))
    atomic_write(Path(path), lambda handle: handle.write(data))


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
