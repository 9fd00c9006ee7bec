#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/): small valid inputs of every kind, from
which libFuzzer mutates its way into the damaged ones.

Usage: make_fuzz_corpus.py OUTDIR

  OUTDIR/decode_fuzzer/   JPEG and PNG of every mode: baseline/progressive/optimized JPEG at
                          4:4:4, 4:2:2, 4:2:0, grey, CMYK, YCCK, restart markers; PNG grey 1-16
                          bit, grey+alpha, RGB(A) 8/16 bit, palette 1-8 bit with tRNS, Adam7
                          interlaced; tiny sizes; plus decode_test's damaged files.
  OUTDIR/resize_fuzzer/   byte strings whose first 8 bytes pick shrink, enlarge, one-axis and
                          1xN resizes (see fuzz/resize_fuzzer.cc for the layout).
  OUTDIR/weights_fuzzer/  tiny Keras weights files of each layout KerasWeights::load reads:
                          legacy H5 (fixed- and variable-length names, chunked layer_names0,
                          layers without weights, float64 arrays), a full-model file with
                          /model_weights, and Keras 3 .weights.h5.
Deterministic: the same files on every run. Never committed (make fuzz writes it into the build
dir); only minimised crash reproducers go to tests/fixtures/fuzz/.
"""
import io
import pathlib
import struct
import sys

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_decode_fixtures as decode_fixtures  # noqa: E402  (its image and PNG writers)


def tiny_images():
    """Pillow-written files of every mode at sizes 1x1..9x7, where mutations find edges fast."""
    files = {}
    for width, height in [(1, 1), (9, 7), (1, 5)]:
        rgb = Image.fromarray(decode_fixtures.texture(height, width, 3, width).astype(np.uint8))
        tag = f"{width}x{height}"
        for mode in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
            buffer = io.BytesIO()
            rgb.convert(mode).save(buffer, "PNG")
            files[f"png_{mode.replace(';', '')}_{tag}"] = buffer.getvalue()
        for mode, options in [("RGB", {}), ("RGB", {"progressive": True}),
                              ("RGB", {"subsampling": 0}), ("L", {}), ("CMYK", {}),
                              ("L", {"progressive": True})]:
            buffer = io.BytesIO()
            rgb.convert(mode).save(buffer, "JPEG", quality=75, **options)
            suffix = "_progressive" if options.get("progressive") else ""
            suffix += "_444" if "subsampling" in options else ""
            files[f"jpeg_{mode}{suffix}_{tag}"] = buffer.getvalue()
    samples = decode_fixtures.texture(5, 7, 3, 3)
    files["png_interlaced_rgb8_7x5"] = decode_fixtures.encode_png(samples, 8, 2, interlace=True)
    files["png_interlaced_rgb16_7x5"] = decode_fixtures.encode_png(samples * 257, 16, 2,
                                                                   interlace=True)
    return files


def decode_corpus():
    files = {**decode_fixtures.png_fixtures(), **decode_fixtures.jpeg_fixtures()}
    files.update(decode_fixtures.damaged_png_fixtures(files["png_rgb8"]))
    files.update(decode_fixtures.damaged_jpeg_fixtures(files["jpeg_baseline_420"],
                                                       files["jpeg_progressive"]))
    files.update(tiny_images())
    return files


def resize_corpus():
    """Four big-endian 16-bit sides (taken modulo 512, plus one), then pixel bytes."""
    rng = np.random.default_rng(7)
    files = {}
    for (sw, sh, w, h) in [(100, 100, 224, 224), (511, 300, 224, 224), (37, 23, 5, 3),
                           (1, 512, 1, 7), (512, 1, 3, 1), (8, 9, 8, 200), (300, 4, 17, 4),
                           (64, 64, 64, 1), (2, 2, 512, 512)]:
        sides = struct.pack(">4H", sw - 1, sh - 1, w - 1, h - 1)
        files[f"resize_{sw}x{sh}_to_{w}x{h}"] = sides + rng.bytes(97)
    return files


LEGACY_LAYERS = [  # (layer name, [(weight name, shape)])
    ("input_1", []),
    ("Conv1", [("kernel:0", (3, 3, 3, 2))]),
    ("bn_Conv1", [(f"{n}:0", (2,)) for n in ("gamma", "beta", "moving_mean", "moving_variance")]),
    ("predictions", [("kernel:0", (2, 3)), ("bias:0", (3,))]),
]


def write_legacy(root, vlen=False, chunked=False, dtype="<f4"):
    rng = np.random.default_rng(1)
    names = [name for name, _ in LEGACY_LAYERS]
    if vlen:
        string_type = h5py.string_dtype("utf-8")
        layer_names = np.array(names, dtype=object)
    else:
        string_type = None
        layer_names = np.array([n.encode() for n in names])
    if chunked:  # tf_keras' layout for attributes over 64 KiB
        root.attrs.create("layer_names0", layer_names[:2], dtype=string_type)
        root.attrs.create("layer_names1", layer_names[2:], dtype=string_type)
    else:
        root.attrs.create("layer_names", layer_names, dtype=string_type)
    root.attrs["backend"] = b"tensorflow"
    root.attrs["keras_version"] = b"2.21.0"
    for name, weights in LEGACY_LAYERS:
        group = root.create_group(name)
        if not weights:
            group.attrs["weight_names"] = np.zeros(0, np.float64)  # as tf_keras writes it
            continue
        weight_names = [f"{name}/{w}" for w, _ in weights]
        if vlen:
            group.attrs.create("weight_names", np.array(weight_names, dtype=object),
                               dtype=string_type)
        else:
            group.attrs["weight_names"] = np.array([w.encode() for w in weight_names])
        for weight_name, (_, shape) in zip(weight_names, weights):
            group.create_dataset(weight_name, data=rng.standard_normal(shape).astype(dtype))


def write_keras3(f):
    rng = np.random.default_rng(2)
    layers = f.create_group("layers")
    for group_name, layer_name, shapes in [("conv2d", "Conv1", [(3, 3, 3, 2)]),
                                           ("batch_normalization", "bn_Conv1", [(2,)] * 4),
                                           ("dense", "predictions", [(2, 3), (3,)])]:
        vars_group = layers.create_group(group_name).create_group("vars")
        vars_group.attrs["name"] = layer_name
        for index, shape in enumerate(shapes):
            vars_group.create_dataset(str(index), data=rng.standard_normal(shape).astype("<f4"))
    layers.create_group("input_layer")  # older Keras 3: no vars for layers without weights
    f.create_group("optimizer").create_group("vars")
    f.attrs["keras_version"] = "3.10.0"


def weights_corpus(outdir):
    outdir.mkdir(parents=True, exist_ok=True)
    writers = {
        "legacy_fixed.h5": lambda f: write_legacy(f),
        "legacy_vlen.h5": lambda f: write_legacy(f, vlen=True),
        "legacy_chunked.h5": lambda f: write_legacy(f, chunked=True),
        "legacy_float64.h5": lambda f: write_legacy(f, dtype="<f8"),
        "full_model.h5": lambda f: write_legacy(f.create_group("model_weights")),
        "keras3.weights.h5": write_keras3,
    }
    for name, write in writers.items():
        # track_order off and the earliest file format: h5py's smallest, most common layout.
        with h5py.File(outdir / name, "w", libver="earliest") as f:
            write(f)


def main():
    outdir = pathlib.Path(sys.argv[1])
    for target, files in [("decode_fuzzer", decode_corpus()), ("resize_fuzzer", resize_corpus())]:
        (outdir / target).mkdir(parents=True, exist_ok=True)
        for name, data in sorted(files.items()):
            (outdir / target / name).write_bytes(data)
    weights_corpus(outdir / "weights_fuzzer")


if __name__ == "__main__":
    main()
