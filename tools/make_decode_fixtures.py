#!/usr/bin/env python3
"""Writes decode_test's fixtures: JPEG and PNG files of every colour mode, plus damaged ones, and
what Pillow makes of each (the reference decode_image must match).

Usage: make_decode_fixtures.py OUTDIR

OUTDIR/manifest.tsv has one line per image: `name<TAB>ok<TAB>width<TAB>height` with Pillow's
np.asarray(Image.open(f).convert('RGB')) in OUTDIR/name.rgb, or `name<TAB>error` when Pillow
refuses the file. OUTDIR/draft.tsv lists JPEGs for the --jpeg-draft path:
`name<TAB>size<TAB>width<TAB>height` with Pillow's im.draft('RGB', (size, size)) then
.convert('RGB') (width x height) in name.draft.rgb and its .resize((size, size)) in
name.draft_resized.rgb. OUTDIR/resized.tsv lists `name<TAB>width<TAB>height` with Pillow's
Image.open(f).convert('RGB').resize((width, height)) in name.WIDTHxHEIGHT.rgb, for the path that
resizes rows while they decode (decode_resized_like_pillow): photo-like JPEGs and PNGs several
strips tall, shrunk and enlarged, and shapes Pillow resizes vertically first.
When ../shared/fruits-sample exists its JPEGs are listed too, by absolute path.
Deterministic: the same files on every run.
"""
import io
import itertools
import pathlib
import struct
import sys
import zlib

import warnings

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
FRUITS = ROOT.parent / "shared" / "fruits-sample"


def texture(height, width, channels, seed, high=256):
    """Smooth gradients, stripes and noise: content that exercises filters and upsampling."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        wave = np.sin(x / (3.0 + c) + y / (5.0 + 2 * c)) * 0.35 + 0.5
        ramp = (x + 2 * y + 17 * c) / (width + 2 * height + 17 * channels)
        noise = rng.random((height, width)) * 0.25
        planes.append((wave * 0.5 + ramp * 0.4 + noise) / 1.15)
    data = np.clip(np.stack(planes, axis=-1), 0, 1) * (high - 1)
    return np.rint(data).astype(np.int64)


# --- a small PNG writer: Pillow cannot write interlaced, 2/4-bit grey or 16-bit colour PNGs ---

ADAM7 = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 4, 8), (0, 2, 4, 4), (2, 0, 2, 4), (0, 1, 2, 2),
         (1, 0, 1, 2)]  # (start row, start col, col increment, row increment)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_rows(samples, depth):
    """HxWxC integer samples -> list of packed row bytes (as uint8 arrays)."""
    h, w, c = samples.shape
    if depth == 16:
        return [np.ascontiguousarray(samples[r].reshape(-1)).astype(">u2").view(np.uint8)
                for r in range(h)]
    if depth == 8:
        return [samples[r].reshape(-1).astype(np.uint8) for r in range(h)]
    bits = ((samples[..., 0, None] >> np.arange(depth - 1, -1, -1)) & 1).astype(np.uint8)
    return [np.packbits(bits[r].reshape(-1)) for r in range(h)]


def filter_rows(rows, bpp, first_filter):
    """Filters each row with types cycling from first_filter, so every PNG filter is used."""
    out = []
    prior = np.zeros_like(rows[0]) if rows else None
    for i, raw in enumerate(rows):
        kind = (first_filter + i) % 5
        r = raw.astype(np.int64)
        p = prior.astype(np.int64)
        left = np.concatenate([np.zeros(bpp, np.int64), r[:-bpp]])[: len(r)]
        upleft = np.concatenate([np.zeros(bpp, np.int64), p[:-bpp]])[: len(r)]
        if kind == 0:
            f = r
        elif kind == 1:
            f = r - left
        elif kind == 2:
            f = r - p
        elif kind == 3:
            f = r - (left + p) // 2
        else:
            pa, pb, pc = np.abs(p - upleft), np.abs(left - upleft), np.abs(left + p - 2 * upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, p, upleft))
            f = r - pred
        out.append(bytes([kind]) + (f & 0xFF).astype(np.uint8).tobytes())
        prior = raw
    return b"".join(out)


def encode_png(samples, depth, color_type, interlace=False, palette=None, trns=None,
               idat_pieces=1, first_filter=0):
    h, w, c = samples.shape
    bpp = max(1, depth * c // 8)
    if interlace:
        stream = b""
        for sr, sc, ci, ri in ADAM7:
            sub = samples[sr::ri, sc::ci]
            if sub.shape[0] and sub.shape[1]:
                stream += filter_rows(pack_rows(sub, depth), bpp, first_filter)
    else:
        stream = filter_rows(pack_rows(samples, depth), bpp, first_filter)
    compressed = zlib.compress(stream, 9)
    pieces = np.array_split(np.frombuffer(compressed, np.uint8), idat_pieces)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type,
                                                             0, 0, int(interlace)))
    if palette is not None:
        out += chunk(b"PLTE", bytes(palette))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    for piece in pieces:
        out += chunk(b"IDAT", piece.tobytes())
    return out + chunk(b"IEND", b"")


def png_fixtures():
    files = {}
    w, h = 37, 23  # odd, non-square: partial bytes at row ends, every Adam7 pass non-empty
    for depth in (1, 2, 4, 8, 16):
        files[f"png_grey{depth}"] = encode_png(texture(h, w, 1, depth, 1 << depth), depth, 0)
    # 16-bit grey around the 0..255 boundary that Pillow clips at.
    files["png_grey16_low"] = encode_png(texture(h, w, 1, 5, 600), 16, 0)
    files["png_grey8_trns"] = encode_png(texture(h, w, 1, 6), 8, 0, trns=b"\x00\x07")
    for depth in (8, 16):
        files[f"png_greyalpha{depth}"] = encode_png(texture(h, w, 2, 7, 1 << depth), depth, 4)
        files[f"png_rgb{depth}"] = encode_png(texture(h, w, 3, 8, 1 << depth), depth, 2)
        files[f"png_rgba{depth}"] = encode_png(texture(h, w, 4, 9, 1 << depth), depth, 6)
    files["png_rgb8_trns"] = encode_png(texture(h, w, 3, 10), 8, 2, trns=b"\x00\x01\x00\x02\x00\x03")
    palette = texture(1, 256, 3, 11).reshape(-1).tolist()
    for depth in (1, 2, 4, 8):
        indices = texture(h, w, 1, 12 + depth, 1 << depth)
        files[f"png_palette{depth}"] = encode_png(indices, depth, 3, palette=palette[: 3 << depth])
    indices = texture(h, w, 1, 20, 256)
    files["png_palette8_trns"] = encode_png(indices, 8, 3, palette=palette, trns=bytes(range(0, 256, 3)))
    files["png_palette8_short_plte"] = encode_png(indices, 8, 3, palette=palette[: 3 * 100])
    files["png_palette8_no_plte"] = encode_png(indices, 8, 3)
    for name, depth, ctype, channels in [("grey1", 1, 0, 1), ("grey2", 2, 0, 1), ("grey16", 16, 0, 1),
                                         ("rgb8", 8, 2, 3), ("rgba16", 16, 6, 4),
                                         ("greyalpha8", 8, 4, 2)]:
        samples = texture(h, w, channels, 30 + depth, 1 << depth)
        files[f"png_interlaced_{name}"] = encode_png(samples, depth, ctype, interlace=True,
                                                      first_filter=depth)
    files["png_interlaced_palette4"] = encode_png(texture(h, w, 1, 40, 16), 4, 3, interlace=True,
                                                  palette=palette[:48])
    for size in [(1, 1), (2, 3), (5, 9), (8, 1)]:  # Adam7 passes with no pixels
        files[f"png_interlaced_rgb8_{size[0]}x{size[1]}"] = encode_png(
            texture(*size, 3, 41), 8, 2, interlace=True)
    files["png_rgb8_many_idat"] = encode_png(texture(h, w, 3, 42), 8, 2, idat_pieces=7)
    # Pillow's own encoder, the PNGs most likely met in practice.
    for mode in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
        buffer = io.BytesIO()
        base = Image.fromarray(texture(61, 83, 3, 43).astype(np.uint8), "RGB")
        base.convert(mode).save(buffer, "PNG", optimize=mode == "P")
        files[f"png_pillow_{mode.replace(';', '')}"] = buffer.getvalue()
    return files


def damaged_png_fixtures(good):
    files = {}
    ihdr_end = 8 + 8 + 13 + 4
    idat = good.index(b"IDAT") - 4
    idat_len = struct.unpack(">I", good[idat : idat + 4])[0]
    idat_crc = idat + 8 + idat_len
    files["png_bad_ihdr_crc"] = good[: ihdr_end - 1] + bytes([good[ihdr_end - 1] ^ 1]) + good[ihdr_end:]
    files["png_bad_idat_crc"] = good[:idat_crc] + b"\0\0\0\0" + good[idat_crc + 4 :]
    files["png_no_iend"] = good[: idat_crc + 4]
    files["png_garbage_after_header"] = good[:ihdr_end] + np.random.default_rng(1).bytes(200)
    files["png_garbage_after_iend"] = good + b"trailing garbage"
    # zlib stream ending after a whole number of rows: Pillow leaves the rest black.
    w, h = 16, 9
    rows = b"".join(b"\x00" + bytes((3 * x + y) % 256 for x in range(3 * w)) for y in range(h))
    header = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    files["png_stream_ends_early"] = (header + chunk(b"IDAT", zlib.compress(rows[: 4 * (3 * w + 1)]))
                                      + chunk(b"IEND", b""))
    files["png_stream_ends_mid_row"] = (header + chunk(b"IDAT", zlib.compress(rows[: 50]))
                                        + chunk(b"IEND", b""))
    # Where libdeflate's whole-stream inflate gives way to zlib's row by row (png_decode.cc):
    # a wrong Adler-32 after the last row, bytes after the stream's end, more rows than the image.
    stream = zlib.compress(rows)
    files["png_after_rows_bad_adler32"] = (header + chunk(b"IDAT", stream[:-4] + b"\0\0\0\0")
                                           + chunk(b"IEND", b""))
    files["png_after_rows_bytes_after_stream"] = (header + chunk(b"IDAT", stream + b"junk")
                                                  + chunk(b"IEND", b""))
    files["png_after_rows_extra_rows"] = (header + chunk(b"IDAT", zlib.compress(rows + rows[:49]))
                                          + chunk(b"IEND", b""))
    files["png_after_rows_split_idat"] = (header + chunk(b"IDAT", stream[:7]) + chunk(b"IDAT", b"")
                                          + chunk(b"IDAT", stream[7:]) + chunk(b"IEND", b""))
    files["png_bad_filter_type"] = header + chunk(b"IDAT", zlib.compress(b"\x09" + rows[1:])) + chunk(b"IEND", b"")
    files["png_zero_size"] = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    files["png_short_gama"] = header + chunk(b"gAMA", b"\0\0") + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    files["png_cut_text_after_idat"] = header + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"tEXt", b"k\0" + b"v" * 40)[:-20]
    # Pillow's chunk ids are \w\w\w\w: digits and underscores too (png_chunks.h).
    files["png_digit_chunk_id_before_idat"] = (header + chunk(b"ab1_", b"x")
                                               + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    files["png_digit_chunk_id_then_cut_chunk"] = (header + chunk(b"IDAT", zlib.compress(rows))
                                                  + chunk(b"ab1_", b"x") + chunk(b"tEXt", b"k\0" + b"v" * 40)[:-20])
    files["png_nonword_chunk_id_then_cut_chunk"] = (header + chunk(b"IDAT", zlib.compress(rows))
                                                    + chunk(b"ab-c", b"x") + chunk(b"tEXt", b"k\0" + b"v" * 40)[:-20])
    for cut in np.linspace(9, len(good) - 1, 40).astype(int):
        files[f"png_truncated_at_{cut}"] = good[:cut]
    return files


def jpeg_fixtures():
    files = {}
    rgb = Image.fromarray(texture(47, 61, 3, 50).astype(np.uint8), "RGB")
    for subsampling, name in [(0, "444"), (1, "422"), (2, "420")]:
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=90, subsampling=subsampling)
        files[f"jpeg_baseline_{name}"] = buffer.getvalue()
    for options, name in [({"progressive": True}, "progressive"),
                          ({"optimize": True, "quality": 50}, "optimized"),
                          ({"keep_rgb": True}, "adobe_rgb"),
                          ({"restart_marker_blocks": 3}, "restart_markers")]:
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", **options)
        files[f"jpeg_{name}"] = buffer.getvalue()
    for mode in ("L", "CMYK"):
        buffer = io.BytesIO()
        rgb.convert(mode).save(buffer, "JPEG", quality=85)
        files[f"jpeg_{mode.lower()}"] = buffer.getvalue()
    buffer = io.BytesIO()
    rgb.convert("CMYK").save(buffer, "JPEG", quality=85, progressive=True)
    files["jpeg_cmyk_progressive"] = buffer.getvalue()
    # YCCK: the CMYK file with its Adobe transform flag set to 2, as Photoshop writes them.
    cmyk = bytearray(files["jpeg_cmyk"])
    adobe = cmyk.index(b"Adobe")
    cmyk[adobe + 11] = 2
    files["jpeg_ycck"] = bytes(cmyk)
    odd = Image.fromarray(texture(1, 1, 3, 51).astype(np.uint8), "RGB")
    for size in [(1, 1), (17, 3), (3, 33)]:
        buffer = io.BytesIO()
        odd.resize(size).save(buffer, "JPEG")
        files[f"jpeg_tiny_{size[0]}x{size[1]}"] = buffer.getvalue()
    return files


def draft_jpeg_fixtures():
    """(name, bytes, draft size): sizes that pick each draft scale, odd sides, every kind."""
    cases = []
    for (width, height), size in [((640, 480), 224), ((1800, 1700), 224), ((2000, 1900), 224),
                                  ((1001, 999), 224), ((500, 225), 224), ((300, 2000), 224),
                                  ((1234, 567), 100)]:
        rgb = Image.fromarray(texture(height, width, 3, width + height).astype(np.uint8), "RGB")
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=90)
        cases.append((f"draft_{width}x{height}_to_{size}", buffer.getvalue(), size))
    rgb = Image.fromarray(texture(1003, 1337, 3, 7).astype(np.uint8), "RGB")
    for name, mode, options in [("progressive", "RGB", {"progressive": True}),
                                ("444", "RGB", {"subsampling": 0}),
                                ("422", "RGB", {"subsampling": 1}),
                                ("grey", "L", {}), ("cmyk", "CMYK", {})]:
        buffer = io.BytesIO()
        rgb.convert(mode).save(buffer, "JPEG", quality=85, **options)
        cases.append((f"draft_{name}_1337x1003_to_224", buffer.getvalue(), 224))
    return cases


def write_draft_fixtures(outdir):
    lines = []
    for name, data, size in draft_jpeg_fixtures():
        (outdir / name).write_bytes(data)
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (size, size))
        rgb = image.convert("RGB")
        (outdir / f"{name}.draft.rgb").write_bytes(rgb.tobytes())
        (outdir / f"{name}.draft_resized.rgb").write_bytes(rgb.resize((size, size)).tobytes())
        lines.append(f"{name}\t{size}\t{rgb.width}\t{rgb.height}\n")
    (outdir / "draft.tsv").write_text("".join(lines))


def streamed_fixtures():
    """(name, bytes): images tall enough to span many of the streaming resize's strips."""
    files = {}
    rgb = Image.fromarray(texture(733, 1021, 3, 8).astype(np.uint8), "RGB")
    for name, options in [("420", {}), ("progressive", {"progressive": True}),
                          ("444", {"subsampling": 0})]:
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=90, **options)
        files[f"stream_jpeg_{name}_1021x733"] = buffer.getvalue()
    for name, image in [("cmyk", rgb.convert("CMYK")), ("grey", rgb.convert("L")),
                        ("portrait", rgb.transpose(Image.Transpose.ROTATE_90))]:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        files[f"stream_jpeg_{name}"] = buffer.getvalue()
    rgba = texture(517, 901, 4, 9).astype(np.uint8)
    files["stream_png_rgba_901x517"] = encode_png(rgba, 8, 6)
    files["stream_png_interlaced_rgba_901x517"] = encode_png(rgba, 8, 6, interlace=True)
    return files


def write_resized_fixtures(outdir, files):
    """Pillow's resize of every streamed image, and of a few small ones, to several sizes."""
    sizes = [(224, 224), (7, 5), (1, 1), (300, 3), (2000, 900)]
    lines = []
    for name, data in files.items():
        (outdir / name).write_bytes(data)
        rgb = Image.open(io.BytesIO(data)).convert("RGB")
        for width, height in sizes:
            resized = rgb.resize((width, height))
            (outdir / f"{name}.{width}x{height}.rgb").write_bytes(resized.tobytes())
            lines.append(f"{name}\t{width}\t{height}\n")
    (outdir / "resized.tsv").write_text("".join(lines))


def damaged_jpeg_fixtures(good, progressive):
    files = {}
    sos = good.index(b"\xff\xda")
    files["jpeg_no_eoi"] = good[:-2]
    files["jpeg_garbage_after_header"] = good[: sos + 14] + np.random.default_rng(2).bytes(300)
    files["jpeg_garbage_after_eoi"] = good + b"\x00garbage\xff"
    files["jpeg_only_header"] = good[:sos]
    # Marker edge cases of Pillow's walk (jpeg_markers.h).
    files["jpeg_zero_length_segment"] = good[:2] + b"\xff\xe2\0\0" + good[2:]
    files["jpeg_fill_bytes_before_marker"] = good[:2] + b"\xff\xff\xff" + good[2:]
    files["jpeg_junk_between_segments"] = good[:sos] + b"\x00junk" + good[sos:]
    files["jpeg_jpg_extension_marker"] = good[:2] + b"\xff\xf0" + good[2:]
    files["jpeg_12bit"] = good.replace(b"\xff\xc0\x00\x11\x08", b"\xff\xc0\x00\x11\x0c", 1)
    for cut in np.linspace(4, len(good) - 3, 30).astype(int):
        files[f"jpeg_truncated_at_{cut}"] = good[:cut]
    for cut in np.linspace(4, len(progressive) - 3, 15).astype(int):
        files[f"jpeg_progressive_truncated_at_{cut}"] = progressive[:cut]
    return files


def pillow_rgb(data):
    """Pillow's RGB for the bytes, or None when Pillow refuses them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # palette transparency advice, bomb warnings
            image = Image.open(io.BytesIO(data))
            return np.asarray(image.convert("RGB"))
    except Exception:  # noqa: BLE001 - any refusal by Pillow is the expected "error"
        return None


def main():
    outdir = pathlib.Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    files = {**png_fixtures(), **jpeg_fixtures()}
    files.update(damaged_png_fixtures(files["png_rgb8"]))
    files.update(damaged_jpeg_fixtures(files["jpeg_baseline_420"], files["jpeg_progressive"]))
    files["empty"] = b""
    files["text_named_png"] = b"this is a text file, not an image\n"
    lines = []
    for name, data in sorted(files.items()):
        (outdir / name).write_bytes(data)
        rgb = pillow_rgb(data)
        if rgb is None:
            lines.append(f"{name}\terror")
        else:
            (outdir / f"{name}.rgb").write_bytes(rgb.tobytes())
            lines.append(f"{name}\tok\t{rgb.shape[1]}\t{rgb.shape[0]}")
    (outdir / "manifest.tsv").write_text("\n".join(lines) + "\n")
    write_draft_fixtures(outdir)
    write_resized_fixtures(outdir, {**streamed_fixtures(),
                                    **{name: files[name] for name in
                                       ("jpeg_baseline_420", "jpeg_tiny_3x33", "png_rgb8",
                                        "png_palette4")}})

    fruit_lines = []
    if FRUITS.is_dir():
        (outdir / "fruits").mkdir(exist_ok=True)
        for index, path in enumerate(sorted(FRUITS.rglob("*.jpg"))):
            rgb = pillow_rgb(path.read_bytes())
            expected = outdir / "fruits" / f"{index}.rgb"
            expected.write_bytes(rgb.tobytes())
            fruit_lines.append(f"{path}\t{expected}\t{rgb.shape[1]}\t{rgb.shape[0]}")
    (outdir / "fruits.tsv").write_text("".join(line + "\n" for line in fruit_lines))


if __name__ == "__main__":
    main()
