"""End-to-end: `--exif-transpose` applies the EXIF orientation as Pillow's exif_transpose does;
without it (the notebook's default) the stored pixels are used as they are."""
import numpy as np
import pyarrow.parquet as pq
from PIL import Image, ImageOps

from helpers import run_pomona


def textured(width, height, seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 4 + 1, width // 4 + 1, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((width, height), Image.BILINEAR)


def save_jpeg(image, path, orientation=None):
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())


def featurize(pomona_bin, weights, folder, output, *extra):
    run_pomona(pomona_bin, "featurize", folder, output, "--weights", weights, "--alpha", "0.35",
               "--size", "96", "--label-from", "none", "--quiet", *extra)
    return {row["path"].rsplit("/", 1)[1]: row for row in pq.read_table(output).to_pylist()}


def test_exif_transpose_rotates_like_pillow_and_is_off_by_default(pomona_bin, small_weights, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    stored = textured(120, 80, seed=6)
    # Orientation 6: the camera stored the pixels rotated; Pillow's exif_transpose rotates 270.
    save_jpeg(stored, folder / "a_oriented.jpg", orientation=6)
    upright = ImageOps.exif_transpose(Image.open(folder / "a_oriented.jpg"))
    assert upright.size == (80, 120)
    # The same decoded pixels, physically rotated and stored without EXIF (lossless: PNG).
    upright.convert("RGB").save(folder / "b_upright.png")
    Image.open(folder / "a_oriented.jpg").convert("RGB").save(folder / "c_as_stored.png")

    plain = featurize(pomona_bin, small_weights, folder, tmp_path / "plain.parquet")
    turned = featurize(pomona_bin, small_weights, folder, tmp_path / "turned.parquet",
                       "--exif-transpose")
    assert all(row["error"] is None for row in [*plain.values(), *turned.values()])
    assert plain["a_oriented.jpg"]["features"] == plain["c_as_stored.png"]["features"]
    assert turned["a_oriented.jpg"]["features"] == turned["b_upright.png"]["features"]
    assert turned["a_oriented.jpg"]["features"] != plain["a_oriented.jpg"]["features"]


def test_damaged_exif_is_no_transpose_not_an_error(pomona_bin, small_weights, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    image = textured(64, 48, seed=7)
    save_jpeg(image, folder / "good.jpg")
    data = bytearray((folder / "good.jpg").read_bytes())
    # An APP1 Exif segment whose TIFF header is garbage, inserted after SOI.
    payload = b"Exif\0\0" + b"XX\x2a\x00garbage-garbage"
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    (folder / "damaged.jpg").write_bytes(bytes(data[:2]) + segment + bytes(data[2:]))

    rows = featurize(pomona_bin, small_weights, folder, tmp_path / "out.parquet", "--exif-transpose")
    assert rows["damaged.jpg"]["error"] is None
    assert rows["damaged.jpg"]["features"] == rows["good.jpg"]["features"]
