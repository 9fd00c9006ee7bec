"""End-to-end: `pomona report` on featurized images; the page's figures checked against numpy, then
rendered by headless Chromium at desktop and phone widths."""
import html.parser
import re
import shutil
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from helpers import make_images, run_pomona

EVIL_LABEL = '<b>Évil & "Co" \'s'  # a folder name: no slash
MARKERS = {"circle", "rect", "path"}


class Page(html.parser.HTMLParser):
    """Every element with the classes (and ids) of its ancestors, and the text under each."""

    VOID = {"meta", "circle", "rect", "path", "line", "polyline", "br", "img", "link"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, classes) of the open elements
        self.elements = []  # (tag, attrs, classes of ancestors and itself)
        self.texts = []  # (text, classes of enclosing elements)
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split()) | ({attrs["id"]} if attrs.get("id") else set())
        inherited = set().union(*(c for _, c in self.stack)) if self.stack else set()
        self.elements.append((tag, attrs, inherited | classes))
        if tag not in self.VOID:
            self.stack.append((tag, classes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if data.strip():
            self.texts.append((data, set().union(*(c for _, c in self.stack)) if self.stack else set()))

    def within(self, *classes):
        return [(tag, attrs) for tag, attrs, inherited in self.elements if set(classes) <= inherited]

    def text_within(self, *classes):
        return " ".join(text for text, inherited in self.texts if set(classes) <= inherited)


def scatter_markers(page):
    return [(tag, attrs) for tag, attrs in page.within("scatter", "points") if tag in MARKERS]


def polyline_vertices(page, css_class):
    (points,) = [a["points"] for tag, a in page.within("scree", css_class) if tag == "polyline"]
    return len(points.split())


def numpy_pca(features, variance=0.95):
    """Spark's explained variance ratio and the smallest k reaching `variance`, as pca/ promises."""
    eigenvalues, vectors = np.linalg.eigh(np.cov(features, rowvar=False, ddof=1))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = np.clip(eigenvalues[order], 0, None), vectors[:, order]
    ratio = eigenvalues / eigenvalues.sum()
    k = int(np.searchsorted(np.cumsum(ratio), variance - 1e-12) + 1)
    return ratio, vectors, k


def one_nn_agreement(points, labels):
    distances = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    return float(np.mean(labels[distances.argmin(1)] == labels))


def featurize(pomona_bin, weights, source, output):
    run_pomona(pomona_bin, "featurize", source, output, "--weights", weights, "--alpha", "0.35",
               "--size", "96", "--quiet")
    return output


def report(pomona_bin, features, html_path, *extra):
    result = run_pomona(pomona_bin, "report", features, html_path, *extra)
    assert f"-> {html_path}" in result.stdout
    return Page(html_path.read_text(encoding="utf-8")), result.stdout


@pytest.fixture(scope="module")
def generated_features(pomona_bin, small_weights, tmp_path_factory):
    """6 classes x 5 images, plus a class whose name is markup and two broken files."""
    root = tmp_path_factory.mktemp("report")
    images = make_images(root / "images", per_class=5, classes=6)
    evil = images / EVIL_LABEL
    evil.mkdir()
    for i, jpg in enumerate(sorted(images.rglob("*.jpg"))[:3]):
        shutil.copy(jpg, evil / f"copy <{i}>.jpg")
    (evil / "zz_empty.jpg").write_bytes(b"")
    (images / "Avocado" / "zz_text.png").write_text("not an image")
    return featurize(pomona_bin, small_weights, images, root / "features.parquet")


def test_report_figures_match_the_features(pomona_bin, generated_features, tmp_path):
    table = pq.read_table(generated_features).to_pylist()
    good = [r for r in table if r["error"] is None]
    features = np.array([r["features"] for r in good], dtype=np.float64)
    labels = sorted({r["label"] for r in table})
    assert len(table) == 35 and len(good) == 33 and len(labels) == 7

    page, stdout = report(pomona_bin, generated_features, tmp_path / "report.html")
    ratio, vectors, k = numpy_pca(features)

    # One marker per good row, one legend entry per label.
    assert len(scatter_markers(page)) == len(good)
    legend = [a for tag, a in page.within("legend") if tag == "li"]
    assert len(legend) == len(labels)
    assert EVIL_LABEL in page.text_within("legend")
    # Scree: one vertex per component in both curves; k marked as numpy chooses it.
    assert polyline_vertices(page, "ratio") == features.shape[1] == 1280
    assert polyline_vertices(page, "cumulative") == 1280
    assert f"k = {k} ({100 * ratio[:k].sum():.1f}%)" in page.text_within("scree", "k-marker")
    assert "95.0% of variance" in page.text_within("scree", "level")
    # Counts and errors.
    stats = page.text_within("stats")
    assert "rows 35" in stats and "error rows 2" in stats and "labels 7" in stats
    errors = page.text_within("errors")
    assert "zz_empty.jpg" in errors and "zz_text.png" in errors
    # 1-NN agreement in the first min(k, 50) components, as numpy computes it (Spark projection).
    label_of = np.array([labels.index(r["label"]) for r in good])
    agreement = one_nn_agreement(features @ vectors[:, : min(k, 50)], label_of)
    assert f"1-NN label agreement {100 * agreement:.1f}% over 33 rows" in stdout
    assert f"has the same label in {100 * agreement:.1f}% of cases" in page.text_within("neighbours")


def test_report_escapes_labels_and_paths(pomona_bin, generated_features, tmp_path):
    run_pomona(pomona_bin, "report", generated_features, tmp_path / "report.html")
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<b>" not in text
    assert "&lt;b&gt;Évil &amp; &quot;Co&quot; &#39;s" in text
    assert "<script" not in text and " src=\"" not in text and " href=\"" not in text


def test_report_samples_the_scatter_at_max_points(pomona_bin, generated_features, tmp_path):
    page, _ = report(pomona_bin, generated_features, tmp_path / "report.html", "--max-points", "10",
                     "--max-neighbour-rows", "12")
    assert len(scatter_markers(page)) == 10
    assert "A sample of 10 of the 33 good rows" in page.text_within("scatter")
    assert "Computed on a sample of 12 of the 33 good rows" in page.text_within("neighbours")


def test_report_with_a_model_uses_its_k(pomona_bin, generated_features, tmp_path):
    model = tmp_path / "model.parquet"
    run_pomona(pomona_bin, "pca", "fit", generated_features, model, "--pca-k", "4")
    page, stdout = report(pomona_bin, generated_features, tmp_path / "report.html", "--model", model)
    assert "k = 4" in stdout
    assert page.text_within("scree", "k-marker").startswith("k = 4 (")
    assert len(scatter_markers(page)) == 33


def test_report_bad_usage_and_missing_input_exit_non_zero(pomona_bin, generated_features, tmp_path):
    out = tmp_path / "report.html"
    missing = run_pomona(pomona_bin, "report", tmp_path / "none.parquet", out, check=False)
    assert missing.returncode == 3 and "none.parquet" in missing.stderr
    both = run_pomona(pomona_bin, "report", generated_features, out, "--pca-k", "3",
                      "--pca-variance", "0.9", check=False)
    assert both.returncode == 2
    too_many = run_pomona(pomona_bin, "report", generated_features, out, "--pca-k", "2000",
                          check=False)
    assert too_many.returncode == 2 and len(too_many.stderr.strip().splitlines()) == 1
    assert not out.exists()


def chromium_screenshot(html_path, png_path, width, height):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: run `make bootstrap` (scripts/bootstrap.sh installs it)")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking",
                    f"--screenshot={png_path}", f"--window-size={width},{height}",
                    html_path.as_uri()], check=True, capture_output=True, timeout=120)
    return Image.open(png_path).convert("RGB")


def distinct_colours(pixels):
    packed = (pixels[:, 0].astype(np.uint32) << 16) | (pixels[:, 1].astype(np.uint32) << 8) | pixels[:, 2]
    return len(np.unique(packed))


@pytest.mark.parametrize("width,height", [(1200, 2600), (390, 3000)], ids=["desktop", "phone"])
def test_chromium_renders_the_report(pomona_bin, generated_features, tmp_path, width, height):
    html_path = tmp_path / "report.html"
    run_pomona(pomona_bin, "report", generated_features, html_path)
    image = chromium_screenshot(html_path, tmp_path / "shot.png", width, height)
    assert image.size == (width, height)
    pixels = np.asarray(image).reshape(-1, 3)
    not_white = np.any(pixels < 245, axis=1).mean()
    assert 0.02 < not_white < 0.6, not_white  # text and figures, on a white page
    assert distinct_colours(pixels) > 200  # antialiased text, palette colours, plot lines
    # The scatter's first label colour (#e6194b, drawn at 85% opacity) is on the page.
    red = (np.abs(pixels.astype(int) - [233, 59, 102]).max(axis=1) < 40).sum()
    assert red > 20, red


def test_report_on_fruits_sample(pomona_bin, small_weights, fruits_sample, tmp_path):
    features = featurize(pomona_bin, small_weights, fruits_sample, tmp_path / "fruits.parquet")
    page, _ = report(pomona_bin, features, tmp_path / "report.html")
    table = pq.read_table(features)
    assert table.num_rows == 180
    assert len(scatter_markers(page)) == 180
    assert len([a for tag, a in page.within("legend") if tag == "li"]) == len(set(table.column("label").to_pylist()))
    assert polyline_vertices(page, "ratio") == 1280
    assert re.search(r"k = \d+ \((9\d\.\d|100\.0)%\)", page.text_within("scree", "k-marker"))
    image = chromium_screenshot(tmp_path / "report.html", tmp_path / "shot.png", 1000, 2400)
    assert distinct_colours(np.asarray(image).reshape(-1, 3)) > 200
