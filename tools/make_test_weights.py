#!/usr/bin/env python3
"""Writes a synthetic Keras MobileNetV2 weights file (include_top=True, 1000 classes).

The file has exactly the layout tf_keras' `model.save_weights("x.h5")` writes (or, with
--keras3, the layout Keras 3's `model.save_weights("x.weights.h5")` writes) for any Keras alpha
and input size, so the C++ loader and network can be tested without TensorFlow or a download.

The weights are random but not degenerate: every BatchNormalization's moving statistics are
calibrated on a few synthetic textured images, so each ReLU6 sees pre-activations of a sensible
scale and the 1280 pooled features are mostly non-zero and vary from image to image.

The same arguments give a byte-identical file on any machine: convolution weights and
activations are integers times a power of two, so the calibration forward pass is exact integer
arithmetic (no summation-order rounding), and the remaining float steps are single IEEE
operations.

Usage: make_test_weights.py [--alpha 1.0] [--size 224] [--keras3] [--summary S.txt] OUT.h5
       make_test_weights.py --test-set DIR      (the files the C++ tests use, see TEST_SET)
"""
import argparse
import math
import pathlib

import h5py
import numpy as np

SEED = 20240601
# The `keras_version` attribute of legacy files, as tf_keras 2.21 writes it.
TF_KERAS_VERSION = "2.21.0"
BN_EPSILON = 1e-3

# Activations and weights are integers scaled by these powers of two during calibration.
ACTIVATION_BITS = 8
WEIGHT_BITS = 12
CALIBRATION_IMAGES = 4
CALIBRATION_SIZE = 64

# (filters, stride, expansion) of blocks 0..16, as in keras.applications.MobileNetV2.
BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6),
          (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6),
          (160, 1, 6), (160, 1, 6), (320, 1, 6)]


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def layer_plan(alpha):
    """Keras' model.layers in order: (name, class as Keras 3 snake-cases it, params)."""
    plan = [("input_1", "input_layer", {})]

    def conv(name, kernel, cin, cout, stride, block_start=False):
        plan.append((name, "conv2d", dict(kernel=kernel, cin=cin, cout=cout, stride=stride,
                                          block_start=block_start)))

    channels = make_divisible(32 * alpha, 8)
    conv("Conv1", 3, 3, channels, 2)
    plan.append(("bn_Conv1", "batch_normalization", dict(channels=channels, relu=True)))
    plan.append(("Conv1_relu", "re_lu", {}))
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        out_channels = make_divisible(int(filters * alpha), 8)
        prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
        inner = channels
        if block_id:
            inner = expansion * channels
            conv(prefix + "expand", 1, channels, inner, 1, block_start=True)
            plan.append((prefix + "expand_BN", "batch_normalization",
                         dict(channels=inner, relu=True)))
            plan.append((prefix + "expand_relu", "re_lu", {}))
        if stride == 2:
            plan.append((prefix + "pad", "zero_padding2d", {}))
        plan.append((prefix + "depthwise", "depthwise_conv2d",
                     dict(channels=inner, stride=stride, block_start=block_id == 0)))
        plan.append((prefix + "depthwise_BN", "batch_normalization",
                     dict(channels=inner, relu=True)))
        plan.append((prefix + "depthwise_relu", "re_lu", {}))
        conv(prefix + "project", 1, inner, out_channels, 1)
        plan.append((prefix + "project_BN", "batch_normalization",
                     dict(channels=out_channels, relu=False)))
        if channels == out_channels and stride == 1:
            plan.append((prefix + "add", "add", {}))
        channels = out_channels
    last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    conv("Conv_1", 1, channels, last, 1)
    plan.append(("Conv_1_bn", "batch_normalization", dict(channels=last, relu=True)))
    plan.append(("out_relu", "re_lu", {}))
    plan.append(("global_average_pooling2d", "global_average_pooling2d", {}))
    plan.append(("predictions", "dense", dict(cin=last, cout=1000)))
    return plan


def pad_same(x, kernel, stride):
    """TF 'same' padding (and Keras' correct_pad before a stride-2 depthwise): extra row below."""
    if kernel == 1:
        return x
    pads = []
    for size in x.shape[1:3]:
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])


def conv_int(x, kernel, stride, depthwise):
    """Exact integer convolution, NHWC int64 input, HWIO (or HW C 1) int64 kernel."""
    k = kernel.shape[0]
    x = pad_same(x, k, stride)
    n, h, w, _ = x.shape
    out_h, out_w = (h - k) // stride + 1, (w - k) // stride + 1
    out = None
    for dy in range(k):
        for dx in range(k):
            patch = x[:, dy:dy + stride * out_h:stride, dx:dx + stride * out_w:stride, :]
            if depthwise:
                term = patch * kernel[dy, dx, :, 0]
            else:
                term = np.einsum("nhwc,co->nhwo", patch, kernel[dy, dx], dtype=np.int64)
            out = term if out is None else out + term
    return out


def calibrate_batch_norm(z, gamma, beta, relu, scale_bits):
    """Moving mean/variance so that BN(z) has mean beta and std gamma over the calibration set;
    returns them with the next layer's integer activations."""
    flat = z.reshape(-1, z.shape[-1])
    count = flat.shape[0]
    mean_int = np.floor_divide(flat.sum(axis=0) + count // 2, count)
    # Shift before squaring keeps the sum of squares inside int64.
    shift = max(int(np.abs(flat - mean_int).max()).bit_length() - 20, 0)
    centred = (flat - mean_int) >> shift
    var_int = np.floor_divide((centred * centred).sum(axis=0), count)
    unit = 2.0 ** -scale_bits
    moving_mean = (mean_int * unit).astype(np.float32)
    moving_variance = np.maximum(var_int * (4.0 ** shift) * unit * unit, 1e-4).astype(np.float32)
    inv_std = gamma.astype(np.float64) / np.sqrt(moving_variance.astype(np.float64) + BN_EPSILON)
    y = (flat * unit - moving_mean.astype(np.float64)) * inv_std + beta.astype(np.float64)
    if relu:
        y = np.clip(y, 0.0, 6.0)
    y_int = np.rint(y * 2.0 ** ACTIVATION_BITS).astype(np.int64).reshape(z.shape)
    return moving_mean, moving_variance, y_int


def calibration_images(rng):
    """Textured images in [-1, 1] as integers (ACTIVATION_BITS): smooth random fields at several
    scales, coloured differently per image, so statistics resemble those of photographs."""
    size = CALIBRATION_SIZE
    images = np.zeros((CALIBRATION_IMAGES, size, size, 3), np.int64)
    for i in range(CALIBRATION_IMAGES):
        for cell in (4, 8, 16):
            coarse = rng.integers(-64, 65, size=(size // cell + 1, size // cell + 1, 3))
            images[i] += np.kron(coarse, np.ones((cell, cell, 1), np.int64))[:size, :size]
        images[i] += rng.integers(-32, 33, size=(size, size, 3))
    return np.clip(images, -(2 ** ACTIVATION_BITS), 2 ** ACTIVATION_BITS)


def quantized_uniform(rng, low, high, shape, bits):
    """Uniform numbers that are integers times 2**-bits (exactly representable in float32)."""
    return rng.integers(round(low * 2 ** bits), round(high * 2 ** bits) + 1, size=shape)


def make_weights(alpha):
    """{layer name: [(weight name, float32 array)]} for every layer in layer_plan(alpha), with
    BatchNormalization statistics from an exact integer forward pass over calibration images."""
    rng = np.random.default_rng(SEED)
    x = calibration_images(rng)  # integers, scale 2**-ACTIVATION_BITS
    weights = {}
    for name, kind, p in layer_plan(alpha):
        weights[name] = []  # ReLU, padding, pooling and input layers keep none
        if p.get("block_start"):
            block_input = x
        if kind in ("conv2d", "depthwise_conv2d"):
            if kind == "conv2d":
                fan_in = p["kernel"] * p["kernel"] * p["cin"]
                shape = (p["kernel"], p["kernel"], p["cin"], p["cout"])
                weight_name = "kernel"
            else:
                fan_in = 9
                shape = (3, 3, p["channels"], 1)
                weight_name = "depthwise_kernel"
            bound = np.sqrt(6.0 / fan_in)  # He uniform
            kernel = quantized_uniform(rng, -bound, bound, shape, WEIGHT_BITS)
            z = conv_int(x, kernel, p["stride"], kind == "depthwise_conv2d")
            weights[name] = [(weight_name, (kernel * 2.0 ** -WEIGHT_BITS).astype(np.float32))]
        elif kind == "batch_normalization":
            c = p["channels"]
            # ReLU6 layers get pre-activations mostly inside (0, 6); projections feed residual
            # sums, so they stay small and centred.
            gamma_range, beta_range = ((0.5, 1.5), (0.0, 1.0)) if p["relu"] else ((0.25, 0.75),
                                                                                  (-0.25, 0.25))
            gamma = (quantized_uniform(rng, *gamma_range, c, 8) * 2.0 ** -8).astype(np.float32)
            beta = (quantized_uniform(rng, *beta_range, c, 8) * 2.0 ** -8).astype(np.float32)
            mean, variance, x = calibrate_batch_norm(z, gamma, beta, p["relu"],
                                                     ACTIVATION_BITS + WEIGHT_BITS)
            weights[name] = [("gamma", gamma), ("beta", beta), ("moving_mean", mean),
                             ("moving_variance", variance)]
        elif kind == "add":
            x = x + block_input
        elif kind == "dense":
            bound = np.sqrt(6.0 / (p["cin"] + p["cout"]))  # glorot uniform, Keras' default
            kernel = quantized_uniform(rng, -bound, bound, (p["cin"], p["cout"]), WEIGHT_BITS)
            bias = quantized_uniform(rng, -0.01, 0.01, p["cout"], WEIGHT_BITS)
            weights[name] = [("kernel", (kernel * 2.0 ** -WEIGHT_BITS).astype(np.float32)),
                             ("bias", (bias * 2.0 ** -WEIGHT_BITS).astype(np.float32))]
    return weights


def write_legacy_h5(path, weights, plan):
    """As tf_keras' save_weights_to_hdf5_group: attributes, then one group per layer in name
    order holding `weight_names` and datasets at `<layer>/<layer>/<weight>:0`."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode("utf8") for name, _, _ in plan]
        f.attrs["backend"] = "tensorflow".encode("utf8")
        f.attrs["keras_version"] = TF_KERAS_VERSION.encode("utf8")
        for name in sorted(weights):
            group = f.create_group(name)
            names = [f"{name}/{weight}:0".encode("utf8") for weight, _ in weights[name]]
            group.attrs["weight_names"] = names
            for weight_name, (_, value) in zip(names, weights[name]):
                group.create_dataset(weight_name, value.shape, dtype=value.dtype)[:] = value
        f.create_group("top_level_model_weights").attrs["weight_names"] = []


def write_keras3_h5(path, weights, plan, alpha, size):
    """As Keras 3's H5IOStore: the model's own (empty) `vars` group named after the model, then
    `layers/<class>[_<n>]/vars/<i>` in model.layers order, each `vars` group carrying the layer's
    `name` attribute."""
    with h5py.File(path, "w") as f:
        f.create_group("vars").attrs["name"] = f"mobilenetv2_{alpha:0.2f}_{size}"
        used = {}
        for name, cls, _ in plan:
            count = used.get(cls)
            used[cls] = 0 if count is None else count + 1
            group_name = cls if count is None else f"{cls}_{count + 1}"
            group = f.create_group("layers/" + group_name).create_group("vars")
            # Keras 3 names the input layer itself; tf_keras counts it.
            group.attrs["name"] = "input_layer" if cls == "input_layer" else name
            for index, (_, value) in enumerate(weights[name]):
                group[str(index)] = value


def write_summary(path, weights, layer_names):
    """One line per array, `layer index weight shape sum first last` (shape as AxBxC, numbers
    as Python reprs, which read back exactly), and a line with just the name for each layer
    without weights: what the C++ test checks the loader against."""
    lines = []
    for layer in layer_names:
        if not weights[layer]:
            lines.append(layer)
        for index, (weight, value) in enumerate(weights[layer]):
            shape = "x".join(str(d) for d in value.shape)
            # fsum is exactly rounded: the same digits whatever order numpy would add in.
            checksum = math.fsum(value.astype(np.float64).ravel().tolist())
            lines.append(f"{layer} {index} {weight} {shape} {checksum!r} "
                         f"{float(value.flat[0])!r} {float(value.flat[-1])!r}")
    path.write_text("\n".join(lines) + "\n")


def keras_file_name(alpha, size):
    """The name Keras publishes the weights under (str(float(alpha)) as Keras formats it)."""
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}.h5"


# What the C++ tests use: legacy files named and placed as in a Keras cache ($KERAS_HOME/models),
# and a Keras 3 file. Each has a summary beside it (<file>.summary), then a few small files for
# the loader's other paths (edge_cases/).
TEST_SET = [(1.0, 224, False), (0.35, 96, False), (0.35, 96, True)]


def write_weights_file(out, alpha, size, keras3, summary_path):
    plan = layer_plan(alpha)
    weights = make_weights(alpha)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written under another name and renamed, so an interrupted run leaves no half file behind.
    partial = out.with_name(out.name + ".partial")
    if keras3:
        write_keras3_h5(partial, weights, plan, alpha, size)
    else:
        write_legacy_h5(partial, weights, plan)
    partial.replace(out)
    if summary_path:
        # Keras 3 names the input layer input_layer (tf_keras: input_1).
        names = [("input_layer" if keras3 and cls == "input_layer" else name)
                 for name, cls, _ in plan]
        weights = {**weights, "input_layer": []}
        write_summary(summary_path, weights, names)


def write_edge_cases(folder):
    """Small files for the loader's other paths; the C++ test knows their exact contents."""
    folder.mkdir(parents=True, exist_ok=True)
    kernel = np.arange(2 * 2 * 1 * 3, dtype=np.float32).reshape(2, 2, 1, 3) / 8
    # The layout Keras published its files in (Keras 2.1, h5py 2): fixed-length strings.
    with h5py.File(folder / "fixed_length_names.h5", "w") as f:
        f.attrs["layer_names"] = np.array([b"input_1", b"conv"], dtype="S7")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"2.1.2")
        f.create_group("input_1").attrs["weight_names"] = np.zeros(0)
        conv = f.create_group("conv")
        conv.attrs["weight_names"] = np.array([b"conv/kernel:0", b"conv/bias:0"], dtype="S13")
        conv["conv/kernel:0"] = kernel
        conv["conv/bias:0"] = np.array([0.5, -0.5, 2.0], np.float32)
    # A whole model saved by tf_keras' model.save("x.h5"): the weights under /model_weights,
    # stored as float16 and float64 (Keras converts; so must the loader).
    with h5py.File(folder / "full_model_mixed_precision.h5", "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = TF_KERAS_VERSION
        f.attrs["model_config"] = "{}"
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"conv"]
        conv = weights.create_group("conv")
        conv.attrs["weight_names"] = [b"conv/kernel:0", b"conv/bias:0"]
        conv["conv/kernel:0"] = kernel.astype(np.float16)
        conv["conv/bias:0"] = np.array([0.5, -0.5, 2.0], np.float64)
    with h5py.File(folder / "no_layer_names.h5", "w") as f:
        f["data"] = np.zeros(4, np.float32)
    # A header that declares 2^40 values and stores none (HDF5 allocates storage late): the
    # loader must refuse it before allocating.
    with h5py.File(folder / "huge_declared_array.h5", "w") as f:
        f.attrs["layer_names"] = [b"conv"]
        conv = f.create_group("conv")
        conv.attrs["weight_names"] = [b"kernel"]
        conv.create_dataset("kernel", shape=(1 << 20, 1 << 20), dtype=np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--keras3", action="store_true",
                        help="write Keras 3's .weights.h5 layout instead of tf_keras' legacy H5")
    parser.add_argument("--summary", type=pathlib.Path,
                        help="also write every array's name, shape and checksum (write_summary)")
    parser.add_argument("--test-set", action="store_true",
                        help="OUT is a folder: write the tests' files into it (see TEST_SET)")
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args()

    if not args.test_set:
        write_weights_file(args.out, args.alpha, args.size, args.keras3, args.summary)
        return
    for alpha, size, keras3 in TEST_SET:
        if keras3:
            out = args.out / f"mobilenet_v2_{float(alpha)}_{size}.weights.h5"
        else:
            out = args.out / "models" / keras_file_name(alpha, size)
        write_weights_file(out, alpha, size, keras3, out.with_name(out.name + ".summary"))
    write_edge_cases(args.out / "edge_cases")


if __name__ == "__main__":
    main()
