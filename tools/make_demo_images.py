"""Writes synthetic fruit-like photos, for the demo, tests and benchmarks when the real
Fruits-360 sample is absent: one folder per class (names with spaces and non-ASCII letters, as in
the real data), textured blobs on a white background, saved as JPEG with Pillow.

usage: make_demo_images.py OUTDIR [--per-class N] [--classes N] [--width W] [--height H] [--seed S]
"""
import argparse
import pathlib

import numpy as np
from PIL import Image

CLASSES = [
    "Apple Granny Smith", "Avocado", "Banana Lady Finger", "Cocos", "Cucumber Ripe", "Grape Blue",
    "Kiwi", "Lemon", "Orange", "Physalis with Husk", "Pitahaya Red", "Äpfel Rot",
]


def fruit(rng: np.random.Generator, base: np.ndarray, width: int, height: int) -> np.ndarray:
    """A shaded, textured ellipse of the class's colour at a random place and size."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height
    rx, ry = rng.uniform(0.2, 0.4) * width, rng.uniform(0.2, 0.4) * height
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    shade = np.clip(1.2 - 0.5 * d, 0.4, 1.2)[..., None]
    texture = rng.normal(0, 12, (height, width, 1)) + 20 * np.sin(xx / rng.uniform(2, 6))[..., None]
    colour = np.clip(base * shade + texture, 0, 255)
    image = np.full((height, width, 3), 255.0, np.float32)
    inside = d <= 1.0
    image[inside] = colour[inside]
    return image.astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=pathlib.Path)
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--classes", type=int, default=len(CLASSES))
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--height", type=int, default=100)
    parser.add_argument("--seed", type=int, default=360)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for k in range(args.classes):
        name = CLASSES[k % len(CLASSES)] + ("" if k < len(CLASSES) else f" {k // len(CLASSES)}")
        base = rng.uniform(40, 230, 3).astype(np.float32)
        folder = args.outdir / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(args.per_class):
            pixels = fruit(rng, base, args.width, args.height)
            Image.fromarray(pixels).save(folder / f"{i}_{args.width}.jpg", quality=90)


if __name__ == "__main__":
    main()
