"""Image-folder decoding throughput: images/second delivered by an epoch of a streamed image
folder (decoded by 1 and by 2 worker threads while batches are consumed) versus the same
images staged in memory, plus where a worker's time goes (reading the file, Pillow's decode,
the float conversion and resize).

Run: .venv/bin/python bench/bench_images.py [--images 3000] [--size 28] [--repeats 3]
The folder is written to a temporary directory from the shipped MNIST digits (PNG files,
10 class sub-folders); `--size 64` makes every image go through a resize as well."""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainer.engine.config.schema import SplitSpec
from trainer.engine.data import make_batches
from trainer.engine.data.sources.image_decode import ImageFormat, decode_image
from trainer.engine.data.sources.image_folder import load_image_folder
from trainer.engine.data.sources.mnist import load_mnist
from trainer.engine.image_ops import resize_images

CPU = torch.device("cpu")
BATCH = 64


def write_folder(root: Path, count: int) -> None:
    images, labels = load_mnist("train")
    for i in range(count):
        folder = root / str(int(labels[i]))
        folder.mkdir(exist_ok=True)
        Image.fromarray(images[i]).save(folder / f"{i:05d}.png")


def epoch_rate(split, repeats: int) -> float:
    """Images/second of whole shuffled epochs (the median of `repeats`)."""
    batches = make_batches(split, BATCH, CPU, shuffle=True, seed=0)
    rates = []
    for epoch in range(repeats):
        start, seen = time.perf_counter(), 0
        for batch in batches.epoch(epoch):
            seen += len(batch.y)
        rates.append(seen / (time.perf_counter() - start))
    return statistics.median(rates)


def stage_costs(files: list[str], fmt: ImageFormat) -> dict[str, float]:
    """Microseconds per image of each stage of decode_image, on one thread."""
    sample = files[:500]
    timings = {"read file": 0.0, "Pillow decode": 0.0, "to float32": 0.0, "resize": 0.0}
    for path in sample:
        t0 = time.perf_counter()
        with open(path, "rb") as handle:
            handle.read()
        t1 = time.perf_counter()
        with Image.open(path) as image:
            image.load()
            pixels = np.asarray(image.convert("L") if image.mode != "L" else image)
        t2 = time.perf_counter()
        tensor = torch.from_numpy(pixels.astype(np.float32))[None, None]
        t3 = time.perf_counter()
        resize_images(tensor, fmt.height, fmt.width)
        t4 = time.perf_counter()
        for key, seconds in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            timings[key] += seconds
    return {key: 1e6 * value / len(sample) for key, value in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--size", type=int, default=28, help="image_size (28: no resize)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the workers are the parallelism being measured
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "digits"
        root.mkdir()
        write_folder(root, args.images)
        spec = dict(source="image_folder", path=str(root), image_size=[args.size, args.size],
                    color_mode="grayscale")
        staged = load_image_folder(SplitSpec(**spec), "data.train", ["image"], ["label"], 2**40)
        rows = {"staged in memory": epoch_rate(staged, args.repeats)}
        for workers in (1, 2):
            streamed = load_image_folder(SplitSpec(**spec, workers=workers), "data.train",
                                         ["image"], ["label"], 2**20)  # 1 MB: streams
            rows[f"streamed, {workers} worker{'s' if workers > 1 else ''}"] = \
                epoch_rate(streamed, args.repeats)
        fmt = ImageFormat(args.size, args.size, 1)
        start = time.perf_counter()
        for path in streamed.files[:500]:
            decode_image(path, fmt)
        per_image = 1e6 * (time.perf_counter() - start) / 500
        costs = stage_costs(streamed.files, fmt)
    print(f"image folder: {args.images} MNIST PNGs, image_size {args.size}x{args.size}, "
          f"batch {BATCH}, median of {args.repeats} epochs")
    for name, rate in rows.items():
        print(f"  {name:<22} {rate:>10,.0f} images/s")
    print(f"  decode_image on one thread: {per_image:.0f} us/image; of which "
          + ", ".join(f"{k} {v:.0f} us" for k, v in costs.items()))


if __name__ == "__main__":
    main()
