"""Real browser tests: headless Chromium drives `streamlit run app.py` (a photo answered; every bad upload one sentence)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from app_server import CHROMIUM_ARGS, chromium_path, serve_app
from conftest import IN_CI, require_shared_path

pytestmark = pytest.mark.slow  # training runs / real browsers: see pytest.ini


@pytest.fixture()
def app_url(tmp_path: Path):
    with serve_app(tmp_path / "cache") as (url, _):
        yield url


@pytest.fixture()
def browser_page():
    """A blank page of headless Chromium (the system's, no browser download)."""
    chromium = chromium_path()
    if chromium is None:
        (pytest.fail if IN_CI else pytest.skip)("needs the system Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


@pytest.fixture()
def classify_page(app_url: str, browser_page):
    """The app's Classify page, opened from its address."""
    browser_page.goto(app_url, wait_until="domcontentloaded")
    browser_page.get_by_text("Classify a flower").wait_for(timeout=60_000)
    return browser_page


def test_a_link_to_a_page_as_a_fresh_server_s_first_visit_opens_it_inside_the_app(app_url: str,
                                                                                    browser_page) -> None:
    """Streamlit runs such a page file alone (its pages/-folder mode, until app.py first calls st.navigation)."""
    from playwright.sync_api import expect

    page = browser_page
    page.goto(app_url + "/architecture", wait_until="domcontentloaded")
    expect(page.get_by_text("Inside MobileNetV2")).to_be_visible(timeout=60_000)
    nav = page.locator("[data-testid=stSidebarNav]")
    expect(nav.get_by_text("Teach", exact=True)).to_be_visible(timeout=30_000)  # the app's own page list
    expect(nav.get_by_text("common", exact=True)).to_have_count(0)  # not the pages/ folder's files
    expect(page.get_by_text("Weights for the")).to_be_visible()  # app.py's sidebar ran
    assert page.url.endswith("/architecture")


def test_upload_a_photo_and_see_top5(classify_page, sample_flower: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = classify_page
    page.locator("input[type=file]").first.set_input_files(str(require_shared_path(sample_flower)))
    chart = page.locator("[data-testid=stMarkdown]").filter(has_text="Top-5: ").first
    expect(chart).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Latency (this prediction)")).to_be_visible()
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    shots = Path(os.environ.get("MNV2_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "classify.png"), full_page=True)


def _bad_and_odd_uploads(folder: Path, flower: Path) -> list[tuple[Path, str]]:
    """(file, what the page must show): "error" for one sentence, "answer" for the top-5."""
    import io
    import struct
    import zlib

    import numpy as np
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    photo = Image.open(flower).convert("RGB")

    def save(name: str, image: Image.Image, **kw) -> Path:
        path = folder / name
        image.save(path, **kw)
        return path

    def raw(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    jpeg = io.BytesIO()
    photo.save(jpeg, format="JPEG")
    png = io.BytesIO()
    photo.save(png, format="PNG")
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10_000, 10_000, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")
    exif = Image.Exif()
    exif[0x0112] = 6
    grey16 = Image.fromarray((np.asarray(photo.convert("L"), dtype=np.uint16) * 257).astype(np.uint16))
    frames = [photo.resize((120, 90)), photo.resize((120, 90)).rotate(90)]
    gif = folder / "animated.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    return [
        (raw("corrupt.jpg", jpeg.getvalue()[:200] + b"\x00" * 500), "error"),
        (raw("truncated.png", png.getvalue()[: len(png.getvalue()) // 3]), "error"),
        (raw("report.jpg", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), "error"),
        (raw("empty.jpg", b""), "error"),
        (raw("bomb.png", bomb), "error"),
        (save("one_pixel.png", Image.new("RGB", (1, 1), "yellow")), "answer"),
        (save("grey16.png", grey16), "answer"),
        (save("cmyk.jpg", photo.convert("CMYK"), format="JPEG"), "answer"),
        (gif, "answer"),
        (save("iphone.heic", photo, format="HEIF"), "answer"),
        (save("rotated.jpg", photo, format="JPEG", exif=exif.tobytes()), "answer"),
    ]


def test_every_bad_upload_is_one_sentence_and_the_next_good_one_is_answered(classify_page, sample_flower: Path,
                                                                          tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = classify_page
    photo = require_shared_path(sample_flower)
    uploads = _bad_and_odd_uploads(tmp_path, photo)
    too_big = tmp_path / "too_big.jpg"
    too_big.write_bytes(photo.read_bytes() + b"\x00" * 26 * 2**20)  # over the 25 MB limit of .streamlit/config.toml
    chooser = page.locator("input[type=file]").first
    chart = page.locator("[data-testid=stMarkdown]").filter(has_text="Top-5: ")
    errors = page.locator("[data-testid=stAlertContentError]")
    # Alternate bad and good files, so that every expectation waits for the new upload's own result.
    bad = [u for u in uploads if u[1] == "error"]
    good = [u for u in uploads if u[1] == "answer"] + [(photo, "answer")]
    sequence = [u for i, answer in enumerate(good) for u in (bad[i % len(bad)], answer)]
    for path, expected in sequence:
        chooser.set_input_files(str(path))
        if expected == "error":
            expect(errors).to_have_count(1, timeout=60_000)
            assert "Traceback" not in errors.first.inner_text(), path.name
            expect(chart).to_have_count(0)
        else:
            expect(chart.first).to_be_visible(timeout=120_000)
            expect(errors).to_have_count(0)
        expect(page.locator("[data-testid=stException]")).to_have_count(0)
    chooser.set_input_files(str(too_big))
    expect(page.get_by_text("or smaller")).to_be_visible(timeout=30_000)  # Streamlit's own sentence


def test_teach_three_classes_in_the_browser_then_classify_a_new_photo(classify_page, flowers_dir: Path) -> None:
    import time

    from playwright.sync_api import expect

    from mnv2_core.images.flowers import photos_of_class

    page = classify_page
    page.get_by_role("link", name="Teach").click()
    expect(page.get_by_text("Teach it your own classes")).to_be_visible(timeout=60_000)
    classes = {"common dandelion": 50, "water lily": 73, "rose": 74}  # classes with 6+ test photos
    for i, (name, class_id) in enumerate(classes.items()):
        photos = [str(p) for p in photos_of_class(class_id, 5, "test", flowers_dir)]
        uploader = page.get_by_test_id("stFileUploader").filter(has_text=f"Photos of class {i + 1}")
        uploader.locator("input[type=file]").set_input_files(photos)
        expect(page.get_by_text("5 photos", exact=True)).to_have_count(i + 1, timeout=60_000)
        box = page.get_by_label(f"Name of class {i + 1}")
        box.fill(name)
        box.press("Enter")
    start = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text("Held-out check")).to_be_visible(timeout=120_000)
    print(f"train -> ready: {time.perf_counter() - start:.1f} s")
    new_photo = photos_of_class(73, 6, "test", flowers_dir)[-1]  # not among the five it learned from
    page.get_by_test_id("stFileUploader").filter(has_text="A new photo to classify").locator(
        "input[type=file]").set_input_files(str(new_photo))
    expect(page.get_by_role("heading", name="water lily", exact=True)).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    if os.environ.get("MNV2_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["MNV2_SCREENSHOTS"]) / "teach.png"), full_page=True)


def test_benchmark_at_projector_size_shows_the_whole_comparison_and_labels_that_never_overprint(
        app_url: str, browser_page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from mnv2_core.jobs.comparison import entries

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(app_url + "/benchmark", wait_until="domcontentloaded")
    table = page.locator("[data-testid=stTable]").first
    expect(table).to_be_visible(timeout=240_000)  # after the first-visit timing sweep
    for entry in entries():
        expect(table.get_by_text(entry.title, exact=True)).to_be_visible()
    # every column on screen without scrolling or a click
    assert page.evaluate("t => t.scrollWidth <= t.clientWidth + 1", table.element_handle())
    charts = page.locator(".js-plotly-plot")
    expect(charts.nth(1)).to_be_visible(timeout=60_000)
    for i in range(2):
        boxes = charts.nth(i).locator("g.annotation-text-g").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
        assert len(boxes) >= 5
        clash = [(a, b) for n, a in enumerate(boxes) for b in boxes[n + 1:]
                 if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])]
        assert not clash, f"chart {i}: labels overprint {clash}"
        plot = charts.nth(i).locator("g.cartesianlayer").first.bounding_box()
        points = charts.nth(i).locator("g.scatterlayer path.point").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
        assert points and all(p[1] >= plot["y"] - 1 and p[3] <= plot["y"] + plot["height"] + 1 for p in points), \
            "a point is clipped at the plot's edge"
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    shots = Path(os.environ.get("MNV2_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "benchmark_1280x720.png"), full_page=True)
