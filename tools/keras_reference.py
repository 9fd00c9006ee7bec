#!/usr/bin/env python3
"""The Keras oracle for Pomona's model tests (see tests/fixtures/keras/README.md).

  keras_reference.py images DIR
      writes the committed test images (Pillow + numpy only, deterministic).
  keras_reference.py check-layout --alpha A --size S
      saves MobileNetV2 with tf_keras and Keras 3 and checks that tools/make_test_weights.py
      writes the same HDF5 structure, and that both Kerases load its files.
  keras_reference.py features --alpha A --size S --images DIR --out DIR
      generates the seeded weights, runs the notebook's steps in Keras on every image and writes
      features_{A}_{S}.npy (float32, one row per image, in images.txt order).

Everything but `images` needs TensorFlow 2.21 with tf_keras (not part of `make test`):
  python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 \\
      tf-keras==2.21.0 h5py pillow numpy
"""
import argparse
import io
import os
import pathlib
import sys
import tempfile

import numpy as np
from PIL import Image

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TOOLS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import make_test_weights  # noqa: E402

IMAGE_SEED = 7


def texture(rng, width, height, channels):
    """Photograph-like content: oriented waves at several scales, soft discs and grain."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.zeros((height, width, channels))
    for c in range(channels):
        for _ in range(4):
            angle, period = rng.uniform(0, np.pi), rng.uniform(4, 60)
            phase, amplitude = rng.uniform(0, 2 * np.pi), rng.uniform(10, 40)
            image[..., c] += amplitude * np.sin(
                (x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period + phase)
    for _ in range(5):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(3, max(width, height) / 3)
        disc = np.clip(radius - np.hypot(x - cx, y - cy), 0, 3) / 3
        image += disc[..., None] * rng.uniform(-80, 80, channels)
    image += rng.normal(0, 2, image.shape)
    return np.clip(image + 128, 0, 255).astype(np.uint8)


def rgb(rng, width, height):
    return Image.fromarray(texture(rng, width, height, 3), "RGB")


def grey(rng, width, height):
    return Image.fromarray(texture(rng, width, height, 1)[..., 0], "L")


# name -> how to make it. Sizes vary (square, wide, tall, tiny, larger than 224, exactly 224) and
# modes cover what convert('RGB') has to handle.
def image_specs(rng):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90; the notebook does not apply it, nor may we
    cmyk = Image.fromarray(np.concatenate([texture(rng, 80, 80, 3), texture(rng, 80, 80, 1) // 3],
                                          axis=2), "CMYK")
    rgba = np.concatenate([texture(rng, 110, 90, 3), texture(rng, 110, 90, 1)], axis=2)
    grey16 = texture(rng, 100, 60, 1)[..., 0].astype(np.uint16) * 257
    return [
        ("rgb_100x100.jpg", rgb(rng, 100, 100), dict(quality=90)),
        ("rgb_150x90_q75.jpg", rgb(rng, 150, 90), dict(quality=75)),
        ("rgb_64x200_444.jpg", rgb(rng, 64, 200), dict(quality=95, subsampling=0)),
        ("rgb_120x80_progressive.jpg", rgb(rng, 120, 80), dict(quality=85, progressive=True)),
        ("rgb_224x224.jpg", rgb(rng, 224, 224), dict(quality=80)),
        ("rgb_300x200.jpg", rgb(rng, 300, 200), dict(quality=70)),
        ("rgb_31x47.jpg", rgb(rng, 31, 47), dict(quality=90)),
        ("rgb_500x24.jpg", rgb(rng, 500, 24), dict(quality=85)),
        ("rgb_96x96_exif_rotated.jpg", rgb(rng, 96, 96), dict(quality=85, exif=exif.tobytes())),
        ("rgb_160x120_q100_444.jpg", rgb(rng, 160, 120), dict(quality=100, subsampling=0)),
        ("grey_90x110.jpg", grey(rng, 90, 110), dict(quality=90)),
        ("grey_128x64_progressive.jpg", grey(rng, 128, 64), dict(quality=85, progressive=True)),
        ("cmyk_80x80.jpg", cmyk, dict(quality=90)),
        ("rgb_100x100.png", rgb(rng, 100, 100), {}),
        ("rgb_224x224.png", rgb(rng, 224, 224), {}),
        ("grey_96x96.png", grey(rng, 96, 96), {}),
        ("palette_128x72.png", rgb(rng, 128, 72).quantize(64), {}),
        ("palette_transparent_60x90.png", rgb(rng, 60, 90).quantize(32), dict(transparency=0)),
        ("rgba_110x90.png", Image.fromarray(rgba, "RGBA"), {}),
        ("grey_alpha_70x70.png", Image.fromarray(
            np.concatenate([texture(rng, 70, 70, 1), texture(rng, 70, 70, 1)], axis=2), "LA"),
            {}),
        ("grey16_100x60.png", Image.fromarray(grey16), {}),
        ("bilevel_64x64.png", grey(rng, 64, 64).convert("1"), {}),
    ]


def write_images(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(IMAGE_SEED)
    names = []
    for name, image, options in image_specs(rng):
        image.save(folder / name, **options)
        names.append(name)
    (folder.parent / "images.txt").write_text("\n".join(names) + "\n")


def notebook_inputs(paths, size):
    """What the notebook feeds Keras: Pillow decode, convert('RGB'), default resize, float32."""
    return np.stack([np.asarray(Image.open(io.BytesIO(p.read_bytes())).convert("RGB")
                                .resize((size, size)), dtype=np.float32) for p in paths])


def write_features(alpha, size, images, out):
    import tf_keras  # noqa: deferred so that `images` needs no TensorFlow

    names = (images.parent / "images.txt").read_text().split()
    with tempfile.TemporaryDirectory() as tmp:
        weights = pathlib.Path(tmp) / "weights.h5"
        make_test_weights.write_weights_file(weights, alpha, size, False, None)
        model = tf_keras.applications.MobileNetV2(weights=None, alpha=alpha,
                                                  input_shape=(size, size, 3), include_top=True)
        model.load_weights(str(weights))
    extractor = tf_keras.Model(model.input, model.layers[-2].output)
    x = tf_keras.applications.mobilenet_v2.preprocess_input(
        notebook_inputs([images / n for n in names], size))
    features = extractor.predict(x, batch_size=8, verbose=0).astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / f"features_{float(alpha)}_{size}.npy", features)
    spread = features.std(axis=0)
    print(f"alpha {alpha} size {size}: {features.shape}, non-zero {np.mean(features > 0):.4f}, "
          f"at 6 {np.mean(features >= 6):.4f}, mean {features.mean():.3f}, "
          f"max {features.max():.3f}, features varying across images "
          f"{np.mean(spread > 1e-3):.4f}, median std/mean "
          f"{np.median(spread / np.maximum(features.mean(axis=0), 1e-9)):.3f}")


def h5_structure(path):
    """Every group, dataset and attribute with its HDF5 type class, string kind and shape."""
    import h5py

    def attributes(obj):
        described = {}
        for key in obj.attrs:
            attribute = obj.attrs.get_id(key)
            kind = attribute.get_type()
            variable = kind.is_variable_str() if kind.get_class() == h5py.h5t.STRING else None
            value = obj.attrs[key]
            if isinstance(value, np.ndarray):
                value = [v.decode() if isinstance(v, bytes) else v for v in value.tolist()]
            described[key] = (kind.get_class(), variable, attribute.shape, str(value))
        return described

    entries = []
    with h5py.File(path, "r") as f:
        entries.append(("/", attributes(f)))
        f.visititems(lambda name, obj: entries.append(
            (name, obj.shape, str(obj.dtype), attributes(obj)) if isinstance(obj, h5py.Dataset)
            else (name, attributes(obj))))
    return entries


def check_layout(alpha, size):
    import keras
    import tf_keras

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for keras3 in (False, True):
            ours = tmp / ("ours.weights.h5" if keras3 else "ours.h5")
            theirs = tmp / ("theirs.weights.h5" if keras3 else "theirs.h5")
            make_test_weights.write_weights_file(ours, alpha, size, keras3, None)
            library = keras if keras3 else tf_keras
            model = library.applications.MobileNetV2(weights=None, alpha=alpha,
                                                     input_shape=(size, size, 3))
            model.save_weights(str(theirs))
            model.load_weights(str(ours))
            same = h5_structure(ours) == h5_structure(theirs)
            print(f"alpha {alpha} size {size} {'Keras 3' if keras3 else 'tf_keras'}: "
                  f"layout {'identical' if same else 'DIFFERENT'}, load_weights accepts it")
            if not same:
                sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("images").add_argument("out", type=pathlib.Path)
    layout = commands.add_parser("check-layout")
    features = commands.add_parser("features")
    for command in (layout, features):
        command.add_argument("--alpha", type=float, required=True)
        command.add_argument("--size", type=int, required=True)
    features.add_argument("--images", type=pathlib.Path, required=True)
    features.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    if args.command == "images":
        write_images(args.out)
    elif args.command == "check-layout":
        # Run once per process: tf_keras names the input layer by a process-wide counter
        # (input_1 for the first model only).
        check_layout(args.alpha, args.size)
    else:
        write_features(args.alpha, args.size, args.images, args.out)


if __name__ == "__main__":
    main()
