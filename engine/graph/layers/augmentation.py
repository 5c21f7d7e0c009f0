"""Image augmentation and resizing layers with Keras's names and arguments (RandomFlip,
RandomRotation, RandomZoom, RandomTranslation, RandomCrop, RandomContrast, RandomBrightness,
Resizing, CenterCrop) on channels-first batches [N, C, H, W].

The random layers act only in training (evaluate and predict pass inputs through; RandomCrop
then centre-crops, as Keras does) and transform the whole batch on its device at once. Their
draws come from a small CPU generator seeded from (seed, epoch, step) -- the loop's position,
told through an AugmentationClock -- so a resumed run draws the same augmentations bit for
bit; only the per-sample parameters (a few numbers each) travel to the device, and nothing
is read back from it."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...image_ops import INTERPOLATIONS, center_crop, resize_images
from .base import Layer, Shape, check_rank
from .registry import LAYERS

FILL_MODES = ("reflect", "wrap", "constant", "nearest")


class AugmentationClock:
    """Where the training loop is: the random layers seed their draws from it."""

    def __init__(self, seed: int):
        self.seed = seed
        self.epoch = 0
        self.step = 0

    def at(self, epoch: int, step: int) -> None:
        self.epoch, self.step = epoch, step


def bind_augmentation(models: Iterable[nn.Module], seed: int) -> AugmentationClock | None:
    """One clock for every random layer of the models (None when they have none); each layer
    gets its own stream from its position among them."""
    clock = AugmentationClock(seed)
    layers = [m for model in models for m in model.modules() if isinstance(m, RandomLayer)]
    for position, layer in enumerate(layers):
        layer.clock, layer.position = clock, position
    return clock if layers else None


class RandomLayer(Layer):
    def __init__(self, seed: int | None = None):
        super().__init__()
        self.seed = seed
        self.clock: AugmentationClock | None = None
        self.position = 0
        self._last: tuple[int, int] | None = None
        self._calls = 0  # calls at the same clock position (a model run twice in one step)

    def generator(self) -> torch.Generator:
        clock = self.clock or AugmentationClock(0)
        at = (clock.epoch, clock.step)
        self._calls = self._calls + 1 if at == self._last else 0
        self._last = at
        seed = clock.seed if self.seed is None else self.seed
        key = [seed & 0xFFFFFFFF, self.position, clock.epoch, clock.step, self._calls]
        state = np.random.SeedSequence(key).generate_state(2, np.uint32)
        return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))

    def uniform(self, generator: torch.Generator, shape: Sequence[int], low: float, high: float,
                device: torch.device) -> torch.Tensor:
        values = torch.rand(tuple(shape), generator=generator, dtype=torch.float32)
        return (values * (high - low) + low).to(device, non_blocking=True)

    def build(self, input_shape: Shape) -> None:
        check_rank(input_shape, 3, type(self).__name__, "[channels, height, width]")


def _range(factor: Any, argument: str, symmetric_low: float | None = None) -> tuple[float, float]:
    """Keras's `factor`: a number f -> (-f, f) (or (low, f)); a pair -> itself."""
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        low, high = (-float(factor) if symmetric_low is None else symmetric_low), float(factor)
    elif isinstance(factor, (list, tuple)) and len(factor) == 2:
        low, high = float(factor[0]), float(factor[1])
    else:
        raise ValueError(f"{argument} must be a number or a [lower, upper] pair, got {factor!r}")
    if low > high:
        raise ValueError(f"{argument}: lower {low} is above upper {high}")
    return low, high


def _choice(value: str, allowed: Sequence[str], argument: str) -> str:
    if value not in allowed:
        raise ValueError(f"{argument} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@LAYERS.register("RandomFlip")
class RandomFlip(RandomLayer):
    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None):
        super().__init__(seed)
        self.mode = _choice(mode, ("horizontal", "vertical", "horizontal_and_vertical"), "mode")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        generator = self.generator()
        for axis, kind in ((-1, "horizontal"), (-2, "vertical")):
            if kind in self.mode:
                flip = self.uniform(generator, (len(x), 1, 1, 1), 0.0, 1.0, x.device) < 0.5
                x = torch.where(flip, x.flip(axis), x)
        return x


class _AffineLayer(RandomLayer):
    """Rotation, zoom and translation: one affine sampling grid per sample."""

    def __init__(self, fill_mode: str, interpolation: str, seed: int | None, fill_value: float):
        super().__init__(seed)
        self.fill_mode = _choice(fill_mode, FILL_MODES, "fill_mode")
        self.interpolation = _choice(interpolation, ("bilinear", "nearest"), "interpolation")
        self.fill_value = float(fill_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        theta = self.transforms(self.generator(), x)  # [N, 2, 3]: output -> input coordinates
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        padding = {"reflect": "reflection", "nearest": "border"}.get(self.fill_mode, "zeros")
        if self.fill_mode == "wrap":
            grid = torch.remainder(grid + 1.0, 2.0) - 1.0
        shift = self.fill_value if self.fill_mode == "constant" else 0.0
        out = F.grid_sample(x - shift, grid, mode=self.interpolation, padding_mode=padding,
                            align_corners=False)
        return out + shift

    def transforms(self, generator: torch.Generator, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _affine(a: torch.Tensor, b: torch.Tensor, tx: torch.Tensor, c: torch.Tensor,
            d: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.stack([a, b, tx], -1), torch.stack([c, d, ty], -1)], -2)


@LAYERS.register("RandomRotation")
class RandomRotation(_AffineLayer):
    """`factor` in fractions of a full turn (0.1 -> up to 36 degrees either way)."""

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0):
        super().__init__(fill_mode, interpolation, seed, fill_value)
        self.low, self.high = _range(factor, "factor")

    def transforms(self, generator: torch.Generator, x: torch.Tensor) -> torch.Tensor:
        angle = self.uniform(generator, (len(x),), self.low, self.high, x.device) * 2 * math.pi
        cos, sin = torch.cos(angle), torch.sin(angle)
        aspect = x.shape[-1] / x.shape[-2]  # width / height, in normalised coordinates
        zero = torch.zeros_like(angle)
        return _affine(cos, -sin / aspect, zero, sin * aspect, cos, zero)


@LAYERS.register("RandomZoom")
class RandomZoom(_AffineLayer):
    """Positive factors zoom out, negative ones zoom in (Keras); `width_factor` None keeps the
    aspect ratio."""

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0):
        super().__init__(fill_mode, interpolation, seed, fill_value)
        self.height = _range(height_factor, "height_factor")
        self.width = None if width_factor is None else _range(width_factor, "width_factor")

    def transforms(self, generator: torch.Generator, x: torch.Tensor) -> torch.Tensor:
        zoom_h = 1.0 + self.uniform(generator, (len(x),), *self.height, x.device)
        zoom_w = zoom_h if self.width is None else \
            1.0 + self.uniform(generator, (len(x),), *self.width, x.device)
        zero = torch.zeros_like(zoom_h)
        return _affine(zoom_w, zero, zero, zero, zoom_h, zero)


@LAYERS.register("RandomTranslation")
class RandomTranslation(_AffineLayer):
    """Shifts by fractions of the height and width."""

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0):
        super().__init__(fill_mode, interpolation, seed, fill_value)
        self.height = _range(height_factor, "height_factor")
        self.width = _range(width_factor, "width_factor")

    def transforms(self, generator: torch.Generator, x: torch.Tensor) -> torch.Tensor:
        dy = self.uniform(generator, (len(x),), *self.height, x.device)
        dx = self.uniform(generator, (len(x),), *self.width, x.device)
        one, zero = torch.ones_like(dx), torch.zeros_like(dx)
        # A shift of dx * width pixels is 2 * dx in normalised coordinates; sample from behind it.
        return _affine(one, zero, -2.0 * dx, zero, one, -2.0 * dy)


@LAYERS.register("RandomCrop")
class RandomCrop(RandomLayer):
    """Training: one random height x width window per batch (Keras 3); otherwise the centre
    window (after a resize keeping the aspect ratio when the input is smaller)."""

    def __init__(self, height: int, width: int, seed: int | None = None):
        super().__init__(seed)
        self.height, self.width = int(height), int(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_h, in_w = x.shape[-2:]
        if self.training and in_h > self.height and in_w > self.width:
            generator = self.generator()
            top = int(torch.randint(0, in_h - self.height + 1, (), generator=generator))
            left = int(torch.randint(0, in_w - self.width + 1, (), generator=generator))
            return x[..., top: top + self.height, left: left + self.width]
        if in_h >= self.height and in_w >= self.width:
            return center_crop(x, self.height, self.width)
        return resize_images(x, self.height, self.width, crop_to_aspect_ratio=True)


class _ValueLayer(RandomLayer):
    def __init__(self, value_range: Sequence[float], seed: int | None):
        super().__init__(seed)
        if len(value_range) != 2 or value_range[0] >= value_range[1]:
            raise ValueError(f"value_range must be [low, high] with low < high, got {value_range!r}")
        self.value_low, self.value_high = float(value_range[0]), float(value_range[1])


@LAYERS.register("RandomContrast")
class RandomContrast(_ValueLayer):
    """Per sample, (x - mean) * f + mean per channel, f in [1 - lower, 1 + upper], clipped."""

    def __init__(self, factor: Any, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None):
        super().__init__(value_range, seed)
        low, high = _range(factor, "factor")
        self.low, self.high = 1.0 + low, 1.0 + high
        if self.low < 0:
            raise ValueError(f"factor must keep the contrast factor >= 0, got {factor!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        factor = self.uniform(self.generator(), (len(x), 1, 1, 1), self.low, self.high, x.device)
        mean = x.mean(dim=(-2, -1), keepdim=True)
        return ((x - mean) * factor.to(x.dtype) + mean).clamp(self.value_low, self.value_high)


@LAYERS.register("RandomBrightness")
class RandomBrightness(_ValueLayer):
    """Per sample, adds delta * (high - low) of the value range, delta in the factor range;
    clipped."""

    def __init__(self, factor: Any, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None):
        super().__init__(value_range, seed)
        self.low, self.high = _range(factor, "factor")
        if self.low < -1 or self.high > 1:
            raise ValueError(f"factor must lie within [-1, 1], got {factor!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        delta = self.uniform(self.generator(), (len(x), 1, 1, 1), self.low, self.high, x.device)
        shift = delta.to(x.dtype) * (self.value_high - self.value_low)
        return (x + shift).clamp(self.value_low, self.value_high)


@LAYERS.register("Resizing")
class Resizing(Layer):
    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False):
        super().__init__()
        self.height, self.width = int(height), int(width)
        self.interpolation = _choice(interpolation, INTERPOLATIONS, "interpolation")
        self.crop = bool(crop_to_aspect_ratio)

    def build(self, input_shape: Shape) -> None:
        check_rank(input_shape, 3, "Resizing", "[channels, height, width]")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return resize_images(x, self.height, self.width, self.interpolation, self.crop)


@LAYERS.register("CenterCrop")
class CenterCrop(Layer):
    """The centre height x width window (after a resize keeping the aspect ratio when the
    input is smaller, as Keras does)."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = int(height), int(width)

    def build(self, input_shape: Shape) -> None:
        check_rank(input_shape, 3, "CenterCrop", "[channels, height, width]")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] >= self.height and x.shape[-1] >= self.width:
            return center_crop(x, self.height, self.width)
        return resize_images(x, self.height, self.width, crop_to_aspect_ratio=True)
