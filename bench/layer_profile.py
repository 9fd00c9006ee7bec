"""Where `pomona featurize` spends its time, one thread, on make bench's 100x100 JPEGs.

    .venv/bin/python bench/layer_profile.py --build build [--images 400] [--precision fp32|bf16]

- the network, layer group by layer group: oneDNN's own timing of every primitive it runs
  (ONEDNN_VERBOSE=2, one line per execution) against each group's share of the FLOPs, so a group
  that takes more time than its FLOP share is where the kernels are furthest from sgemm speed;
- decode+resize alone (decode_resize_tool on the same files) and the whole job's cost per image
  at the margin (N images against N/4, so start-up is reported apart); the rest (preprocess,
  Parquet, reordering) is what the two leave.
"""
import argparse
import collections
import json
import pathlib
import re
import subprocess

from measure import bench_data, command_text, fruits, run_measured, save_result, seeded_weights

# g32mb1_ic32oc32_ih112oh112kh3sh1dh0ph1_iw112ow112kw3sw1dw0pw1 (oneDNN 2.6's convolution problem).
CONV = re.compile(r"(?:g(\d+))?mb(\d+)_ic(\d+)oc(\d+)_ih\d+oh(\d+)kh(\d+)\S*?_iw\d+ow(\d+)kw(\d+)")
CONV_INPUT = re.compile(r"_ih(\d+)\S*?_iw(\d+)")
# A 1x1 convolution with a depthwise post-op (ops/expand_depthwise_conv.cc): attr-post-ops:...+dw:k3s2p0+...
FUSED_DW = re.compile(r"\+dw:k3s\d")


def layer_group(ic, oc, groups, kh):
    if groups > 1:
        return "depthwise 3x3"
    if kh == 3:
        return "first conv 3x3"
    if oc == 1280:
        return "last conv 1x1 (320->1280)"
    return "pointwise 1x1 expand" if oc > ic else "pointwise 1x1 project"


def network_profile(build, images, weights, precision):
    """oneDNN's per-primitive times over one single-threaded run, grouped."""
    cmd = [build / "pomona", "featurize", images, bench_data(build) / "profile.parquet", "--weights", weights,
           "--threads", "1", "--batch", "1", "--precision", precision, "--overwrite", "--quiet"]
    log = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=True,
                         env={"ONEDNN_VERBOSE": "2", "PATH": "/usr/bin:/bin"}).stdout
    ms = collections.Counter()
    flops = collections.Counter()
    impls = collections.defaultdict(set)
    for line in log.splitlines():
        fields = line.split(",")
        if len(fields) < 6 or fields[1] != "exec":
            continue
        kind, impl, time_ms = fields[3], fields[4], float(fields[-1])
        if kind == "convolution":
            match = CONV.search(line)
            groups, mb, ic, oc, oh, kh, ow, kw = (int(x) if x else 1 for x in match.groups())
            if FUSED_DW.search(line):  # an expand with its depthwise: the problem gives the 1x1's input, dw's output
                group = "expand 1x1 + depthwise (fused)"
                ih, iw = (int(x) for x in CONV_INPUT.search(line).groups())
                flops[group] += 2 * mb * oc * (ih * iw * ic + oh * ow * 9)
            else:
                group = layer_group(ic, oc, groups, kh)
                flops[group] += 2 * mb * oc * oh * ow * (ic // groups) * kh * kw
        elif kind == "reorder":
            group = "reorders"
        else:
            group = kind  # pooling, eltwise, ...
        ms[group] += time_ms
        impls[group].add(impl)
    return ms, flops, impls, command_text(cmd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    data = bench_data(build)
    weights = seeded_weights(data)
    images = fruits(data, 2000)
    subset = data / f"profile-{args.images}"
    if not subset.exists():  # the first N of the 2,000, as a folder of links
        for jpg in sorted(images.rglob("*.jpg"))[: args.images]:
            link = subset / jpg.relative_to(images)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(jpg)
    files = sorted(subset.rglob("*.jpg"))
    quarter = data / f"profile-{args.images}-quarter"
    if not quarter.exists():
        for jpg in files[: len(files) // 4]:
            link = quarter / jpg.relative_to(subset)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(jpg.resolve())

    ms, flops, impls, network_cmd = network_profile(build, subset, weights, args.precision)
    decode_cmd = [build / "bench" / "decode_resize_tool", "decode_resize", 1, 224, *files]
    decode_out, _, _ = run_measured(decode_cmd)
    decode_ms = 1000 / json.loads(decode_out.strip().splitlines()[-1])["images_per_second"]
    # The job's cost per image at the margin (N images against N/4), so that start-up (weights,
    # network, JIT) is reported apart instead of spread over the images.
    seconds = {}
    for count, folder in ((len(files) // 4, quarter), (len(files), subset)):
        job_cmd = [build / "pomona", "featurize", folder, data / "profile.parquet", "--weights", weights,
                   "--threads", "1", "--batch", "1", "--precision", args.precision, "--overwrite", "--quiet"]
        seconds[count] = run_measured(job_cmd)[1]
    (few, few_s), (many, many_s) = sorted(seconds.items())
    job_ms = 1000 * (many_s - few_s) / (many - few)
    startup_s = many_s - many * job_ms / 1000
    n = len(files)
    network_ms = sum(ms.values()) / n
    total_flops = sum(flops.values())
    print(f"\none thread, {n} JPEGs of 100x100 -> 224x224, MobileNetV2 1.0/224 {args.precision}, batch 1")
    print(f"{'layer group':<30} {'ms/img':>7} {'time %':>7} {'FLOP %':>7}  oneDNN implementation  (% of the network)")
    groups = []
    for group, total in sorted(ms.items(), key=lambda item: -item[1]):
        share = flops[group] / total_flops if total_flops else 0
        groups.append({"group": group, "ms_per_image": total / n, "flop_share": share,
                       "impl": sorted(impls[group])})
        print(f"{group:<30} {total / n:>7.3f} {100 * total / n / network_ms:>6.1f}% {100 * share:>6.1f}%  "
              f"{', '.join(sorted(impls[group]))}")
    other_ms = job_ms - network_ms - decode_ms
    print(f"\n{'stage':<30} {'ms/img':>7} {'time %':>7}  (% of the job's cost per image)")
    print(f"{'network, all layers':<30} {network_ms:>7.3f} {100 * network_ms / job_ms:>6.1f}%")
    print(f"{'decode + resize':<30} {decode_ms:>7.3f} {100 * decode_ms / job_ms:>6.1f}%")
    # oneDNN's timing of the layers runs with verbose logging on; a rest near zero (or slightly
    # negative) means the other stages cost less than the noise between the runs.
    print(f"{'preprocess, Parquet, rest':<30} {other_ms:>7.3f} {100 * other_ms / job_ms:>6.1f}%")
    print(f"{'pomona featurize, per image':<30} {job_ms:>7.3f}  100.0%   (+ {startup_s:.2f} s start-up a run)")
    print(f"commands: {network_cmd} (with ONEDNN_VERBOSE=2); {command_text(decode_cmd[:5])} FILES...; "
          f"{command_text(job_cmd)}")
    save_result(build, "layer_profile" if args.precision == "fp32" else f"layer_profile-{args.precision}",
                {"precision": args.precision, "images": n, "job_ms_per_image": job_ms,
                 "network_ms_per_image": network_ms, "decode_resize_ms_per_image": decode_ms,
                 "other_ms_per_image": other_ms, "startup_s": startup_s, "layer_groups": groups})


if __name__ == "__main__":
    main()
