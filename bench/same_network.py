"""Keras' MobileNetV2 (include_top=True, cut at layers[-2]) rebuilt for the peer runtimes from
the same Keras-layout H5 weights Pomona reads, so every runtime runs the same network.

BatchNormalization is folded into the convolution before it, as every inference runtime does
itself (Pomona included); padding is Keras' exactly: TF 'same' (one extra row and column below
and right for stride 2) and ZeroPadding2D(correct_pad) before each stride-2 depthwise.

    layers = folded_layers(weights_h5, alpha=1.0, size=224)
    model = torch_model(layers)          # NCHW float32 in, (N, 1280) out
    write_onnx(layers, "mobilenet_v2.onnx")
"""
import pathlib
import sys

import h5py
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tools"))
import make_test_weights  # noqa: E402  (the layer plan the weights were written from)

BN_EPSILON = 1e-3


def same_pads(size, kernel, stride):
    """TF 'same' padding of one dimension: (before, after)."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def correct_pad(size, kernel=3):
    """keras.applications' correct_pad for one dimension: (before, after)."""
    adjust = 1 - size % 2
    return kernel // 2 - adjust, kernel // 2


def read_h5(path):
    """{layer name: [arrays in weight_names order]} from a tf_keras save_weights file."""
    weights = {}
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        for name in root.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            group = root[name]
            weights[name] = [np.asarray(group[w.decode() if isinstance(w, bytes) else w])
                             for w in group.attrs["weight_names"]]
    return weights


def folded_layers(weights_path, alpha=1.0, size=224):
    """The network as a list of convolutions with BN folded in:
    dict(weight OIHW float32, bias, stride, pads (top, left, bottom, right), groups, relu6,
    save_input: keep this layer's input for a residual add, add_saved: add it to the output)."""
    weights = read_h5(weights_path)
    layers, pending_pad, spatial = [], None, size
    for name, kind, params in make_test_weights.layer_plan(alpha):
        if kind == "zero_padding2d":
            pending_pad = correct_pad(spatial)
        elif kind in ("conv2d", "depthwise_conv2d"):
            kernel = weights[name][0]
            stride = params["stride"]
            k = kernel.shape[0]
            if pending_pad:  # ZeroPadding2D, then a 'valid' convolution
                (top, bottom), pending_pad = pending_pad, None
            else:
                top, bottom = same_pads(spatial, k, stride)
            if kind == "conv2d":
                weight, groups = kernel.transpose(3, 2, 0, 1), 1  # HWIO -> OIHW
            else:
                weight, groups = kernel.transpose(2, 3, 0, 1), kernel.shape[2]  # HWC1 -> C1HW
            spatial = (spatial + top + bottom - k) // stride + 1
            layers.append(dict(name=name, weight=weight, stride=stride, groups=groups,
                               pads=(top, top, bottom, bottom), relu6=False,  # square: left = top
                               save_input=bool(params.get("block_start")), add_saved=False))
        elif kind == "batch_normalization":
            gamma, beta, mean, variance = (w.astype(np.float64) for w in weights[name])
            scale = gamma / np.sqrt(variance + BN_EPSILON)
            conv = layers[-1]
            conv["weight"] = (conv["weight"] * scale[:, None, None, None]).astype(np.float32)
            conv["bias"] = (beta - mean * scale).astype(np.float32)
        elif kind == "re_lu":
            layers[-1]["relu6"] = True
        elif kind == "add":
            layers[-1]["add_saved"] = True
    return layers


def torch_model(layers):
    """A torch.nn.Module: (N, 3, H, W) preprocessed images -> (N, 1280) pooled features."""
    import torch
    import torch.nn.functional as F

    class MobileNetV2Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = torch.nn.ModuleList()
            self.specs = []
            for layer in layers:
                top, left, bottom, right = layer["pads"]
                symmetric = top == bottom and left == right
                weight = torch.from_numpy(layer["weight"])
                conv = torch.nn.Conv2d(weight.shape[1] * layer["groups"], weight.shape[0],
                                       weight.shape[2], stride=layer["stride"],
                                       padding=(top, left) if symmetric else 0,
                                       groups=layer["groups"], bias=True)
                conv.weight.data.copy_(weight)
                conv.bias.data.copy_(torch.from_numpy(layer["bias"]))
                self.convs.append(conv)
                # F.pad takes (left, right, top, bottom)
                self.specs.append((None if symmetric else (left, right, top, bottom),
                                   layer["relu6"], layer["save_input"], layer["add_saved"]))

        def forward(self, x):
            saved = x
            for conv, (pad, relu6, save_input, add_saved) in zip(self.convs, self.specs):
                if save_input:
                    saved = x
                if pad is not None:
                    x = F.pad(x, pad)
                x = conv(x)
                if relu6:
                    x = F.hardtanh(x, 0.0, 6.0)
                if add_saved:
                    x = x + saved
            return x.mean(dim=(2, 3))

    return MobileNetV2Features().eval()


def write_onnx(layers, path, size=224, opset=17):
    """The same network as an ONNX graph (Conv with explicit pads, Clip, Add,
    GlobalAveragePool), input "images" (N, 3, size, size) with a free batch dimension."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
                               numpy_helper.from_array(np.array(6.0, np.float32), "six")]
    x, saved = "images", "images"
    for i, layer in enumerate(layers):
        if layer["save_input"]:
            saved = x
        w, b = f"w{i}", f"b{i}"
        initializers += [numpy_helper.from_array(layer["weight"], w),
                         numpy_helper.from_array(layer["bias"], b)]
        k = layer["weight"].shape[2]
        nodes.append(helper.make_node("Conv", [x, w, b], [f"conv{i}"], kernel_shape=[k, k],
                                      strides=[layer["stride"]] * 2, pads=list(layer["pads"]),
                                      group=layer["groups"]))
        x = f"conv{i}"
        if layer["relu6"]:
            nodes.append(helper.make_node("Clip", [x, "zero", "six"], [f"relu{i}"]))
            x = f"relu{i}"
        if layer["add_saved"]:
            nodes.append(helper.make_node("Add", [x, saved], [f"add{i}"]))
            x = f"add{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], axis=1))
    channels = layers[-1]["weight"].shape[0]
    graph = helper.make_graph(
        nodes, "mobilenet_v2_features",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", channels])],
        initializers)
    # IR version 10 (onnx 1.16): what ONNX Runtime and OpenVINO read, whatever onnx writes by default.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
