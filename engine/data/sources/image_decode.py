"""Decoding one image file the way Keras's `image_dataset_from_directory` does: Pillow reads
it, converts it to the colour mode, then a float32 [0, 255] channels-first array is resized
(bilinear etc., no antialiasing; optionally cropped to the target's aspect ratio first)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
INTERPOLATIONS = {"bilinear": "bilinear", "nearest": "nearest", "bicubic": "bicubic",
                  "area": "area"}


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
    if tuple(tensor.shape[1:]) == (fmt.height, fmt.width):
        return tensor.contiguous().numpy()
    if fmt.crop_to_aspect_ratio:
        tensor = _center_crop_to_aspect(tensor, fmt.height, fmt.width)
    mode = INTERPOLATIONS[fmt.interpolation]
    corners = False if mode in ("bilinear", "bicubic") else None
    resized = F.interpolate(tensor[None], size=(fmt.height, fmt.width), mode=mode,
                            align_corners=corners, antialias=False)[0]
    return resized.numpy()


def _center_crop_to_aspect(tensor: torch.Tensor, target_h: int, target_w: int) -> torch.Tensor:
    height, width = tensor.shape[-2:]
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
    return tensor[:, top: top + crop_h, left: left + crop_w]
