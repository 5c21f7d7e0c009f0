"""Batched resize and crop of channels-first image tensors [N, C, H, W] with Keras's semantics
(`keras.ops.image.resize` on the torch backend: no antialiasing, optional centre crop to the
target's aspect ratio first), shared by the image-folder decoder and the Resizing layers."""
from __future__ import annotations

import torch
import torch.nn.functional as F

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")


def resize_images(images: torch.Tensor, height: int, width: int, interpolation: str = "bilinear",
                  crop_to_aspect_ratio: bool = False) -> torch.Tensor:
    if crop_to_aspect_ratio:
        images = center_crop_to_aspect(images, height, width)
    if tuple(images.shape[-2:]) == (height, width):
        return images
    corners = False if interpolation in ("bilinear", "bicubic") else None
    return F.interpolate(images, size=(height, width), mode=interpolation,
                         align_corners=corners, antialias=False)


def center_crop_to_aspect(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The largest centred window with the aspect ratio of height x width."""
    in_h, in_w = images.shape[-2:]
    crop_h = max(min(in_h, int(float(in_w * height) / width)), 1)
    crop_w = max(min(in_w, int(float(in_h * width) / height)), 1)
    return center_crop(images, crop_h, crop_w)


def center_crop(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    in_h, in_w = images.shape[-2:]
    top, left = int(float(in_h - height) / 2), int(float(in_w - width) / 2)
    return images[..., top: top + height, left: left + width]
