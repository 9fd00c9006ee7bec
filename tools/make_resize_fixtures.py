#!/usr/bin/env python3
"""Writes the reference data of src/image/resize_test.cc and preprocess_test.cc into OUTDIR.

For each (source size, target size) pair: a deterministic textured RGB source,
source_<w>x<h>.rgb, and Pillow's Image.resize of it with the default filter,
pillow_<w>x<h>_to_<W>x<H>.rgb, both as raw interleaved RGB bytes; the pairs are RESIZES
and a seeded random sweep listed in resize_sweep.txt. Also
keras_preprocess.f32: numpy's float32 x / 127.5 - 1 for x = 0..255, little-endian.
"""
import pathlib
import sys

import numpy as np
from PIL import Image

# Keep in step with kCases in src/image/resize_test.cc (the test fails on a missing file).
RESIZES = [
    ((300, 200), (123, 77)),  # shrink by a non-integer factor
    ((50, 40), (131, 97)),  # enlarge
    ((64, 200), (200, 64)),  # tall to wide
    ((200, 64), (64, 200)),  # wide to tall
    ((1, 1), (224, 224)),
    ((100, 100), (1, 1)),
    ((37, 91), (1, 1)),
    ((100, 100), (224, 224)),  # every Fruits-360 image
    ((4000, 3000), (224, 224)),  # a camera photo
    ((37, 91), (224, 224)),
    ((225, 223), (224, 224)),
    ((10000, 10), (224, 224)),
    ((10, 10000), (224, 224)),
    ((100, 100), (100, 100)),
    ((100, 80), (224, 80)),  # only the width grows
    ((100, 80), (100, 224)),  # only the height grows
    ((300, 50), (224, 50)),  # only the width shrinks
    ((50, 300), (50, 224)),  # only the height shrinks
    ((100, 120), (90, 100)),  # height loses 2x the width's loss: horizontal pass first
    ((100, 121), (90, 100)),  # height loses more than 2x the width's loss: vertical pass first
    ((4032, 3024), (224, 224)),  # a 12-megapixel phone photo
    ((5000, 1), (224, 224)),  # one-pixel rows and columns on either side
    ((1, 5000), (224, 224)),
    ((2, 300), (2, 224)),  # rows narrower than one vector
    ((3, 300), (3, 100)),  # rows of one vector and a bit
    ((7, 3), (5, 2)),
    ((17, 9), (8, 33)),
    ((333, 1001), (224, 224)),  # odd sizes, vertical pass first
    ((1001, 333), (224, 224)),
]

# Random sizes for a sweep, listed in resize_sweep.txt as "w h W H" lines.
SWEEP_CASES = 80
SWEEP_MAX_SIDE = 130


def textured_source(width: int, height: int) -> np.ndarray:
    """Gradients, noise and hard 0/255 edges: the edges make the bicubic overshoot clip."""
    rng = np.random.default_rng(width * 100_003 + height)
    y, x = np.mgrid[0:height, 0:width]
    gradient = np.stack(
        [x * 255.0 / max(width - 1, 1), y * 255.0 / max(height - 1, 1), (x + y) % 256], axis=-1
    )
    noise = rng.normal(0.0, 40.0, size=(height, width, 3))
    image = gradient + noise
    blocks = ((x // 7 + y // 5) % 3 == 0)[..., None]
    image = np.where(blocks, np.where(rng.random((height, width, 1)) < 0.5, 0.0, 255.0), image)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUTDIR")
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    sweep = [
        (tuple(sides[:2]), tuple(sides[2:]))
        for sides in rng.integers(1, SWEEP_MAX_SIDE, size=(SWEEP_CASES, 4)).tolist()
    ]
    for (width, height), (new_width, new_height) in RESIZES + sweep:
        pixels = textured_source(width, height)
        (out / f"source_{width}x{height}.rgb").write_bytes(pixels.tobytes())
        resized = Image.fromarray(pixels, "RGB").resize((new_width, new_height))
        name = f"pillow_{width}x{height}_to_{new_width}x{new_height}.rgb"
        (out / name).write_bytes(resized.tobytes())
    lines = [f"{w} {h} {new_w} {new_h}\n" for (w, h), (new_w, new_h) in sweep]
    (out / "resize_sweep.txt").write_text("".join(lines))
    values = np.arange(256, dtype=np.float32)
    preprocessed = values / np.float32(127.5) - np.float32(1)
    (out / "keras_preprocess.f32").write_bytes(preprocessed.astype("<f4").tobytes())


if __name__ == "__main__":
    main()
