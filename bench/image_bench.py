"""The photo workload of issue 9: Pomona's image path against Pillow's, in one run.

Generates (once, deterministically, into BUILD/bench-data/photos/) textured 4032x3024 JPEGs, half
of them progressive, and RGBA 3840x2160 PNGs, then measures on each thread count:
  - decode only (BUILD/bench/decode_resize_tool decode): the bound of the image path,
  - decode + resize to 224x224 as the pipeline does it (decode_resize: rows resized as they
    decode), and with --jpeg-draft's decode (draft_resize),
  - Pomona end to end: `pomona featurize` on the folder of those files (seeded MobileNetV2 1.0/224
    weights), its img/s and peak RSS, and with --jpeg-draft for the JPEGs,
  - Pillow's Image.open(f).convert('RGB').resize((224, 224)) with a process pool of that size,
and, on one thread, resize alone for 4032x3024 -> 224 and 100x100 -> 224 against Pillow's
Image.resize on the same pixels. Prints ratios against the targets of issue 9 (end to end >= 0.85
of decode only at 2 threads, >= 1.5x Pillow, peak RSS < 1 GB); --json also writes them.

  .venv/bin/python bench/image_bench.py --build build [--jpegs 200 --pngs 50 --threads 1 2]
A quick run: --jpegs 8 --pngs 4.
"""
import argparse
import io
import json
import multiprocessing
import pathlib
import subprocess
import sys
import time
import timeit

import numpy as np
from PIL import Image

from measure import bench_data, featurize, save_result, seeded_weights

ROOT = pathlib.Path(__file__).resolve().parent.parent
SIZE = 224
JPEG_SIZE = (4032, 3024)
PNG_SIZE = (3840, 2160)


def texture(width, height, channels, seed):
    """Gradients, stripes and some noise: photo-like work for the codecs, not flat colour."""
    rng = np.random.default_rng(seed)
    y, x = np.ogrid[0:height, 0:width]
    planes = []
    for c in range(channels):
        wave = np.sin(x / (9.0 + 4 * c + seed % 7) + y / (13.0 + 3 * c)) * 60
        ramp = (x * (1 + c) + y * (3 - c)) * 255.0 / (width * (1 + c) + height * (3 - c))
        planes.append((wave + ramp * 0.7 + 30).astype(np.float32))
    image = np.stack(planes, axis=-1)
    image += rng.normal(0, 12, size=(height, width, 1)).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def generate(directory, jpegs, pngs):
    """Writes the files not there yet; returns (jpeg paths, png paths)."""
    directory.mkdir(parents=True, exist_ok=True)
    jpeg_paths = [directory / f"photo_{i:04d}.jpg" for i in range(jpegs)]
    png_paths = [directory / f"screen_{i:04d}.png" for i in range(pngs)]
    if any(not p.exists() for p in jpeg_paths):
        base = texture(*JPEG_SIZE, 3, 1)
    for i, path in enumerate(jpeg_paths):
        if path.exists():
            continue
        # Shifted and mirrored copies of one texture: distinct files, cheap to make.
        pixels = np.roll(base, (i * 97, i * 131), axis=(0, 1))
        if i % 4 >= 2:
            pixels = pixels[:, ::-1]
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90, progressive=i % 2 == 1)
        path.write_bytes(buffer.getvalue())
    if any(not p.exists() for p in png_paths):
        base = texture(*PNG_SIZE, 4, 2)
        base[..., 3] = np.linspace(64, 255, PNG_SIZE[0], dtype=np.float32).astype(np.uint8)
    for i, path in enumerate(png_paths):
        if path.exists():
            continue
        pixels = np.roll(base, (i * 53, i * 71), axis=(0, 1))
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
        path.write_bytes(buffer.getvalue())
    return jpeg_paths, png_paths


def linked_folder(folder, paths):
    """A folder holding exactly `paths` (hard links), for `pomona featurize` to list."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {p.name for p in paths}
    for stale in folder.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for path in paths:
        if not (folder / path.name).exists():
            (folder / path.name).hardlink_to(path)
    return folder


def tool(build, *args):
    out = subprocess.run([str(build / "bench" / "decode_resize_tool"), *map(str, args)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def pillow_path(path):
    with Image.open(path) as image:
        return image.convert("RGB").resize((SIZE, SIZE)).size


def pillow_images_per_second(paths, threads):
    with multiprocessing.Pool(threads) as pool:
        pool.map(pillow_path, paths[:threads])  # start the workers before timing
        start = time.perf_counter()
        pool.map(pillow_path, paths, chunksize=1)
        return len(paths) / (time.perf_counter() - start)


def resize_only(build, width, height, scratch, repeats):
    """Seconds per resize to SIZE x SIZE on one thread: (Pomona, Pillow), same pixels."""
    pixels = texture(width, height, 3, 3)
    raw = scratch / f"resize_{width}x{height}.rgb"
    raw.write_bytes(pixels.tobytes())
    iterations = max(3, int(2e8 // (width * height)))
    ours = min(tool(build, "resize", width, height, SIZE, iterations, raw)["seconds_per_resize"]
               for _ in range(repeats))
    image = Image.fromarray(pixels)
    image.resize((SIZE, SIZE))
    pillow = min(timeit.repeat(lambda: image.resize((SIZE, SIZE)), number=iterations,
                               repeat=repeats)) / iterations
    return ours, pillow


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", type=pathlib.Path)
    parser.add_argument("--jpegs", type=int, default=200)
    parser.add_argument("--pngs", type=int, default=50)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3, help="best of N for resize alone")
    parser.add_argument("--json", type=pathlib.Path, help="also write the results here")
    args = parser.parse_args()
    build = args.build if args.build.is_absolute() else ROOT / args.build
    data = build / "bench-data" / "photos"
    # In a child process: the kernel starts a forked child's peak RSS at its parent's RSS, so this
    # process stays small for the peak RSS of the commands it measures.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        jpegs, pngs = pool.apply(generate, (data, args.jpegs, args.pngs))
    results = {"resize_alone": {}, "workloads": {}}

    weights = seeded_weights(bench_data(build))
    output = data.parent / "photos-out.parquet"
    for kind, name, paths in [("jpeg", f"{len(jpegs)} JPEGs {JPEG_SIZE[0]}x{JPEG_SIZE[1]}", jpegs),
                              ("png", f"{len(pngs)} RGBA PNGs {PNG_SIZE[0]}x{PNG_SIZE[1]}", pngs)]:
        if not paths:
            continue
        folder = linked_folder(data.parent / f"photos-{kind}", paths)
        print(f"{name} -> {SIZE}x{SIZE}, img/s:")
        for threads in args.threads:
            decode = tool(build, "decode", threads, SIZE, *paths)
            resized = tool(build, "decode_resize", threads, SIZE, *paths)
            end_to_end = featurize(build, folder, weights, threads, output)
            row = {
                "decode_only": decode["images_per_second"],
                "decode_resize": resized["images_per_second"],
                "pomona": end_to_end["img_per_s"],
                "pillow": pillow_images_per_second(paths, threads),
                "pomona_peak_rss_mib": end_to_end["peak_rss_mib"],
                "tool_peak_rss_mb": max(decode["peak_rss_mb"], resized["peak_rss_mb"]),
            }
            if kind == "jpeg":
                row["draft_resize"] = tool(build, "draft_resize", threads, SIZE,
                                           *paths)["images_per_second"]
                row["pomona_draft"] = featurize(build, folder, weights, threads, output,
                                                ["--jpeg-draft"])["img_per_s"]
            results["workloads"].setdefault(name, {})[threads] = row
            print(f"  {threads} thread(s): decode only {row['decode_only']:6.2f}  decode+resize "
                  f"{row['decode_resize']:6.2f}  pomona featurize {row['pomona']:6.2f} "
                  f"({row['pomona'] / row['decode_only']:.2f} of decode only)  pillow "
                  f"{row['pillow']:6.2f} -> {row['pomona'] / row['pillow']:.2f}x Pillow  "
                  f"peak RSS {row['pomona_peak_rss_mib']:.0f} MiB")
            if kind == "jpeg":
                print(f"      --jpeg-draft: decode+resize {row['draft_resize']:6.2f} "
                      f"({row['draft_resize'] / row['decode_resize']:.2f}x)  pomona featurize "
                      f"{row['pomona_draft']:6.2f} ({row['pomona_draft'] / row['pomona']:.2f}x)")
    print(f"resize alone, one thread, {SIZE}x{SIZE} (best of {args.repeats}):")
    for width, height in [JPEG_SIZE, (100, 100)]:
        ours, pillow = resize_only(build, width, height, data, args.repeats)
        results["resize_alone"][f"{width}x{height}"] = {
            "pomona_ms": ours * 1e3, "pillow_ms": pillow * 1e3, "speedup": pillow / ours}
        print(f"  {width}x{height}: pomona {ours * 1e3:8.3f} ms  pillow {pillow * 1e3:8.3f} ms"
              f"  -> {pillow / ours:5.2f}x Pillow")

    for name, rows in results["workloads"].items():
        threads = max(rows)
        row = rows[threads]
        print(f"targets, {name} at {threads} thread(s): end to end / decode only "
              f"{row['pomona'] / row['decode_only']:.2f} (>= 0.85), / Pillow "
              f"{row['pomona'] / row['pillow']:.2f} (>= 1.5), peak RSS "
              f"{row['pomona_peak_rss_mib']:.0f} MiB (< 1024)")
    save_result(build, "image_bench", results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
