"""One real browser: headless Chromium uploads a flower photo to `streamlit run app.py` and sees the top-5 chart."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import IN_CI, require_shared_path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("MNV2_CHROMIUM", "/usr/bin/chromium")
# Flags that keep Chromium from reaching for Google's services on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture()
def app_url(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "MNV2_CACHE": str(tmp_path / "cache"), "MNV2_DOWNLOAD": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        if "Traceback" in (out or ""):
            print(out)


def test_upload_a_photo_and_see_top5(app_url: str, sample_flower: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        (pytest.fail if IN_CI else pytest.skip)(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    photo = require_shared_path(sample_flower)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(app_url, wait_until="domcontentloaded")
            page.get_by_text("Classify a flower").wait_for(timeout=60_000)
            page.locator("input[type=file]").first.set_input_files(str(photo))
            chart = page.locator(".js-plotly-plot").filter(has_text="Top-5").first
            expect(chart).to_be_visible(timeout=120_000)
            expect(page.get_by_text("Latency (this prediction)")).to_be_visible()
            expect(page.locator("[data-testid=stException]")).to_have_count(0)
            shots = Path(os.environ.get("MNV2_SCREENSHOTS", tmp_path))
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "classify.png"), full_page=True)
        finally:
            browser.close()
