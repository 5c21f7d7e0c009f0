"""Decoding one image file the way Keras's `image_dataset_from_directory` does: Pillow reads
it, converts it to the colour mode, then a float32 [0, 255] channels-first array is resized
(bilinear etc., no antialiasing; optionally cropped to the target's aspect ratio first)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...image_ops import resize_images

CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


@dataclass(frozen=True)
class ImageFormat:
    """How files become arrays: [channels, height, width] float32."""
    height: int
    width: int
    channels: int
    interpolation: str = "bilinear"
    crop_to_aspect_ratio: bool = False

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.channels, self.height, self.width


def decode_image(path: str, fmt: ImageFormat) -> np.ndarray:
    """One file -> float32 [channels, height, width]. Raises OSError (Pillow's
    UnidentifiedImageError included) or ValueError for an unreadable or truncated file."""
    from PIL import Image  # the `image` extra; imported only by image sources

    with Image.open(path) as image:
        keep = ("L", "I;16", "I") if fmt.channels == 1 else (PIL_MODES[fmt.channels],)
        if image.mode not in keep:
            image = image.convert(PIL_MODES[fmt.channels])
        pixels = np.asarray(image, dtype=np.float32)
    tensor = torch.from_numpy(pixels)
    tensor = tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return resize_images(tensor[None], fmt.height, fmt.width, fmt.interpolation,
                         fmt.crop_to_aspect_ratio)[0].contiguous().numpy()
