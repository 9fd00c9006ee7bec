#!/usr/bin/env python3
"""Writes exif_test's fixtures: JPEGs and PNGs carrying an EXIF (or XMP) orientation in each
place and form Pillow reads, plus damaged ones, and what Pillow's ImageOps.exif_transpose makes
of each (the reference for --exif-transpose).

Usage: make_exif_fixtures.py OUTDIR

OUTDIR/manifest.tsv has one line per file: `name<TAB>orientation<TAB>width<TAB>height<TAB>note`
where orientation is the one Pillow applies (1 = none), OUTDIR/name.rgb holds Pillow's
np.asarray(ImageOps.exif_transpose(Image.open(f)).convert('RGB')) (width x height) and
OUTDIR/name.resized.rgb the same image .resize((RESIZED_WIDTH, RESIZED_HEIGHT)). note is
`pillow_raises` where Pillow's exif_transpose raises on damaged EXIF: pomona then does not
transpose, so the reference is the image as decoded. Deterministic.
"""
import io
import pathlib
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

WIDTH, HEIGHT = 13, 7  # odd and unequal, so every transposition is visible
RESIZED_WIDTH, RESIZED_HEIGHT = 8, 6


def base_image():
    rng = np.random.default_rng(8)
    # Smooth gradients plus a little noise: JPEG keeps them recognisable at quality 95.
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), (x + y) * 10], axis=-1)
    rgb = rgb + rng.integers(0, 8, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def tiff(entries, endian="<", ifd_offset=8, header=None, extra=b""):
    """A TIFF block with IFD0 holding entries (tag, type, count, 4-byte value field)."""
    head = header if header is not None else (
        (b"II*\0" if endian == "<" else b"MM\0*") + struct.pack(endian + "L", ifd_offset))
    ifd = struct.pack(endian + "H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack(endian + "HHL", tag, typ, count) + value
    return head + ifd + struct.pack(endian + "L", 0) + extra


def short(value, endian="<"):
    return struct.pack(endian + "HH", value, 0)


def orientation_exif(value, endian="<"):
    return b"Exif\0\0" + tiff([(0x0112, 3, 1, short(value, endian))], endian)


def xmp(value):
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
            f'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="{value}"/>'
            f"</rdf:RDF></x:xmpmeta>")


def jpeg(image, exif=None, xmp_packet=None):
    out = io.BytesIO()
    kwargs = {"quality": 95}
    if exif is not None:
        kwargs["exif"] = exif
    if xmp_packet is not None:
        kwargs["xmp"] = xmp_packet.encode()
    image.save(out, "JPEG", **kwargs)
    return out.getvalue()


def png_chunk(kind, data):
    return struct.pack(">L", len(data)) + kind + data + struct.pack(
        ">L", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(image, before_idat=(), after_idat=()):
    """A PNG of image with extra chunks (kind, data) placed before or after the image data."""
    out = io.BytesIO()
    image.save(out, "PNG")
    data = out.getvalue()
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">L", data[at:at + 4])
        chunks.append((data[at + 4:at + 8], data[at + 8:at + 8 + length]))
        at += 12 + length
    result = data[:8]
    for kind, body in chunks:
        if kind == b"IDAT":
            result += b"".join(png_chunk(k, d) for k, d in before_idat)
        if kind == b"IEND":
            result += b"".join(png_chunk(k, d) for k, d in after_idat)
        result += png_chunk(kind, body)
    return result


def raw_profile(exif_bytes):
    hexed = exif_bytes.hex()
    lines = "\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72))
    return f"\nexif\n{len(exif_bytes):8}\n{lines}\n".encode()


def itxt(key, text, compressed=False):
    body = text.encode()
    if compressed:
        body = zlib.compress(body)
    return b"iTXt", key + b"\0" + bytes([int(compressed), 0]) + b"\0\0" + body


def cases(image):
    for value in range(1, 9):
        for endian, order in (("<", "le"), (">", "be")):
            yield f"jpeg_{order}_{value}", jpeg(image, orientation_exif(value, endian))
            yield f"png_exif_{order}_{value}", png(
                image, before_idat=[(b"eXIf", orientation_exif(value, endian)[6:])])
    tiff6 = orientation_exif(6)
    yield "jpeg_without_exif", jpeg(image)
    yield "jpeg_xmp_8", jpeg(image, xmp_packet=xmp(8))
    yield "jpeg_exif_wins_over_xmp", jpeg(image, orientation_exif(3), xmp(8))
    yield "jpeg_exif_1_wins_over_xmp", jpeg(image, orientation_exif(1), xmp(8))
    yield "png_exif_after_idat", png(image, after_idat=[(b"eXIf", tiff6[6:])])
    yield "png_last_exif_wins", png(image, before_idat=[(b"eXIf", tiff6[6:])],
                                    after_idat=[(b"eXIf", orientation_exif(4)[6:])])
    yield "png_text_exif", png(image, before_idat=[(b"tEXt", b"exif\0" + tiff6)])
    yield "png_raw_profile_text", png(
        image, before_idat=[(b"tEXt", b"Raw profile type exif\0" + raw_profile(tiff6[6:]))])
    yield "png_raw_profile_ztxt", png(image, before_idat=[
        (b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(raw_profile(orientation_exif(7))))])
    yield "png_xmp_itxt", png(image, before_idat=[itxt(b"XML:com.adobe.xmp", xmp(5))])
    yield "png_xmp_itxt_compressed", png(
        image, after_idat=[itxt(b"XML:com.adobe.xmp", xmp(2), compressed=True)])
    # Types and counts: Pillow compares the first value with 2..8 as a number.
    for name, entry in [
        ("long", (0x0112, 4, 1, struct.pack("<L", 6))),
        ("sshort", (0x0112, 8, 1, short(8))),
        ("two_shorts", (0x0112, 3, 2, struct.pack("<HH", 5, 3))),
        ("byte", (0x0112, 1, 1, b"\x06\0\0\0")),
        ("ascii", (0x0112, 2, 2, b"6\0\0\0")),
        ("unknown_type", (0x0112, 99, 1, short(6))),
        ("value_9", (0x0112, 3, 1, short(9))),
        ("value_0", (0x0112, 3, 1, short(0))),
    ]:
        yield f"jpeg_type_{name}", jpeg(image, b"Exif\0\0" + tiff([entry]))
    # A RATIONAL 6/1 lies after the IFD (offset 26 = 8 + 2 + 12 + 4).
    yield "jpeg_type_rational", jpeg(
        image, b"Exif\0\0" + tiff([(0x0112, 5, 1, struct.pack("<L", 26))],
                                  extra=struct.pack("<LL", 12, 2)))
    yield "jpeg_first_orientation_wins", jpeg(
        image, b"Exif\0\0" + tiff([(0x0112, 3, 1, short(3)), (0x0112, 3, 1, short(6))]))
    yield "jpeg_after_other_tags", jpeg(
        image, b"Exif\0\0" + tiff([(0x010F, 2, 4, b"abc\0"), (0x0112, 3, 1, short(8))]))
    # Damage: never an error for pomona; where Pillow raises, no transpose.
    yield "jpeg_exif_not_tiff", jpeg(image, b"Exif\0\0" + b"XX*\0\x08\0\0\0" + b"\0" * 8)
    yield "jpeg_exif_short", jpeg(image, b"Exif\0\0II*")
    yield "jpeg_ifd_beyond_end", jpeg(image, b"Exif\0\0" + tiff([], ifd_offset=4000)[:8])
    yield "jpeg_entries_cut_short", jpeg(image, (b"Exif\0\0" + tiff(
        [(0x010F, 2, 4, b"abc\0"), (0x0112, 3, 1, short(6))]))[:6 + 8 + 2 + 12 + 5])
    yield "jpeg_value_outside_block", jpeg(image, b"Exif\0\0" + tiff(
        [(0x010F, 2, 100, struct.pack("<L", 9000)), (0x0112, 3, 1, short(6))]))
    yield "jpeg_value_beyond_block_ends_ifd", jpeg(image, b"Exif\0\0" + tiff(
        [(0x010F, 2, 8, struct.pack("<L", 9000)), (0x0112, 3, 1, short(6))]))
    yield "jpeg_huge_tag_count", jpeg(image, b"Exif\0\0II*\0\x08\0\0\0\xff\xff")
    # Where the EXIF reader's and the decoders' walks once differed (jpeg_markers.h, png_chunks.h).
    plain = jpeg(image, tiff6)
    yield "jpeg_exif_after_zero_length_segment", plain[:2] + b"\xff\xe2\0\0" + plain[2:]
    yield "jpeg_exif_after_fill_bytes", plain[:2] + b"\xff\xff\xff" + plain[2:]
    without_iend = png(image)[:-12]
    yield "png_exif_without_crc_at_end_of_file", (
        without_iend + png_chunk(b"eXIf", tiff6[6:])[:-4])
    yield "png_exif_after_digit_chunk_id", png(
        image, after_idat=[(b"ab1_", b"x"), (b"eXIf", tiff6[6:])])
    yield "png_exif_after_bad_chunk_id", png(
        image, after_idat=[(b"ab-c", b"x"), (b"eXIf", tiff6[6:])])
    yield "png_raw_profile_not_hex", png(
        image, before_idat=[(b"tEXt", b"Raw profile type exif\0\nexif\n  4\nzz12\n")])


def pillow_reference(data):
    """(orientation applied, transposed RGB image, note)."""
    im = Image.open(io.BytesIO(data))
    try:
        transposed = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - any failure on damaged EXIF
        return 1, Image.open(io.BytesIO(data)).convert("RGB"), "pillow_raises"
    orientation = im.getexif().get(0x0112, 1)
    applied = int(orientation) if orientation in range(2, 9) else 1  # RATIONAL 6/1 is 6
    return applied, transposed.convert("RGB"), "-"


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    image = base_image()
    lines = []
    for name, data in cases(image):
        suffix = ".jpg" if data[:2] == b"\xff\xd8" else ".png"
        (out / (name + suffix)).write_bytes(data)
        orientation, rgb, note = pillow_reference(data)
        (out / (name + ".rgb")).write_bytes(np.asarray(rgb).tobytes())
        resized = rgb.resize((RESIZED_WIDTH, RESIZED_HEIGHT))
        (out / (name + ".resized.rgb")).write_bytes(np.asarray(resized).tobytes())
        lines.append(f"{name}{suffix}\t{orientation}\t{rgb.width}\t{rgb.height}\t{note}\n")
    (out / "manifest.tsv").write_text("".join(lines))


if __name__ == "__main__":
    main()
