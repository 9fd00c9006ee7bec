#!/usr/bin/env python3
"""Writes the network's test inputs: the Keras fixture images as the notebook feeds them to Keras.

For each --size S, OUT/inputs_S.npy holds float32 N x S x S x 3 (NHWC), one image per line of
tests/fixtures/keras/images.txt in that order: Pillow decode, convert('RGB'), resize((S, S))
with Pillow's default filter, then Keras' preprocess_input (x / 127.5 - 1) in float32. The C++
fidelity test runs the network on them and compares with the committed Keras features
(tests/fixtures/keras/features_{alpha}_{S}.npy), so the image module plays no part in it.

Usage: make_network_inputs.py --size 224 --size 96 OUT
"""
import argparse
import io
import pathlib

import numpy as np
from PIL import Image

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "keras"


def notebook_input(path, size):
    image = Image.open(io.BytesIO(path.read_bytes())).convert("RGB").resize((size, size))
    pixels = np.asarray(image, dtype=np.float32)
    return pixels / np.float32(127.5) - np.float32(1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, action="append", required=True)
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args()

    names = (FIXTURES / "images.txt").read_text().split()
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.size:
        inputs = np.stack([notebook_input(FIXTURES / "images" / name, size) for name in names])
        partial = args.out / f"inputs_{size}.partial.npy"
        np.save(partial, inputs.astype(np.float32))
        partial.replace(args.out / f"inputs_{size}.npy")


if __name__ == "__main__":
    main()
