"""`streamlit run app.py` on 127.0.0.1 and the system's headless Chromium, for the browser tests and the classroom
load test (one launcher, so both drive the app exactly as a user starts it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("MNV2_CHROMIUM", "/usr/bin/chromium")
# Flags that keep Chromium from reaching for Google's services on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    """The system Chromium (Debian's `chromium` package), or None where it is not installed."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


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


@contextmanager
def serve_app(cache: Path | None = None, log: Path | None = None,
              cpus: set[int] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """The app served headless on a free port: yields (url, server process); ``cache``: its MNV2_CACHE (default:
    the environment's). The server's output goes to ``log`` (default: printed at the end if it holds a traceback).
    ``cpus``: the cores the server (every thread it will start) may run on."""
    port = _free_port()
    env = {**os.environ, "MNV2_DOWNLOAD": "0", **({"MNV2_CACHE": str(cache)} if cache else {})}
    out = open(log, "w") if log else subprocess.PIPE  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=REPO, env=env,
                            stdout=out, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, proc
    finally:
        proc.terminate()
        try:
            text, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
        if log:
            out.close()
        elif "Traceback" in (text or ""):
            print(text)
