"""Classroom load test: N browser sessions at once against `streamlit run app.py`, as a class opening the app.

Each session (one Chromium context) opens the app, uploads its own real test-split photo at MobileNetV2 1.0 FP32,
switches to INT8 and width 0.75 and uploads a second photo. First every session runs alone, one after another
(the reference answers, reported as 1 session); then N at once. For each N it reports errors, answers that differ
from the same request made alone (top-1 and the heat map's hottest point), p50/p95 time from upload to the top-5
being shown, and the server's peak RSS and CPU (sampled from /proc), beside the server's own time per answer (from
the script run that got the photo to the top-5, and to the heat map, handed to Streamlit: recorded by the app,
mnv2_core/measure/serving.py). On a machine with two cores or more the server runs on core 0 and the browsers on
the others, so that the browsers' CPU does not count as the server's slowness. Bounded: at most MAX_SESSIONS
sessions, each answer waits at most ``answer_timeout`` seconds, and the whole run stops after ``timeout`` seconds.

    python3 tests/classroom.py --sessions 10 30

The photos of the concurrent phase carry an extra JPEG comment, so that their bytes (and the app's caches keyed by
them) differ from the reference phase while the pixels are the same: every answer is computed again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root holds mnv2_core
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app_server import CHROMIUM_ARGS, chromium_path, serve_app  # noqa: E402

MAX_SESSIONS = 40
CORES = sorted(os.sched_getaffinity(0))
SERVER_CPUS = {CORES[0]} if len(CORES) > 1 else None  # one core for the server, as a small classroom machine
BROWSER_CPUS = set(CORES[1:]) if len(CORES) > 1 else None
# (width slider steps from the default 1.0, precision button) of each step; the first step is the page's default
STEPS = (("1.0", "FP32"), ("0.75", "INT8"))
HOTTEST = re.compile(r"hottest at x=(\d+), y=(\d+)")


@dataclass
class Answer:
    session: int
    step: int
    photo: str
    top1: str = ""
    hottest: str = ""
    seconds: float = float("nan")  # upload -> top-5 shown (the heat map follows)
    error: str = ""


@dataclass
class Phase:
    sessions: int
    concurrent: bool
    answers: list[Answer] = field(default_factory=list)
    visit_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    browser_cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    differing: list[str] = field(default_factory=list)
    server_threads: dict[str, float] = field(default_factory=dict)  # CPU seconds per thread name (exited ones lost)
    server_top5_s: list[float] = field(default_factory=list)  # the server's own time to each top-5
    heat_after_top5_s: list[float] = field(default_factory=list)  # and from the top-5 to its heat map

    def summary(self) -> dict:
        answered = [a.seconds for a in self.answers if not a.error]
        quantiles = statistics.quantiles(answered, n=20, method="inclusive") if len(answered) > 1 else answered * 19
        return {
            "sessions": self.sessions if self.concurrent else 1,
            "runs": "at once" if self.concurrent else f"{self.sessions} one after another",
            "answers": len(answered), "errors": len(self.answers) - len(answered),
            "differing": len(self.differing),
            "p50_s": round(statistics.median(answered), 2) if answered else None,
            "p95_s": round(quantiles[18], 2) if answered else None,
            "peak_rss_mb": round(self.peak_rss_mb), "server_cpu_s": round(self.server_cpu_seconds, 1),
            "cpu_per_answer_s": round(self.server_cpu_seconds / len(answered), 2) if answered else None,
            "browser_cpu_s": round(self.browser_cpu_seconds, 1),
            "wall_s": round(self.wall_seconds, 1),
            "server_top5_p50_s": _quantile(self.server_top5_s, 0.5),
            "server_top5_p95_s": _quantile(self.server_top5_s, 0.95),
            "heat_after_top5_p95_s": _quantile(self.heat_after_top5_s, 0.95),
            "server_threads_cpu_s": self.server_threads,
        }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)


class ServerSampler:
    """Peak RSS and CPU seconds of one process, sampled from /proc every 0.2 s while in use."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_rss_mb, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def _rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_rss_mb = max(self.peak_rss_mb, self._rss_mb())

    def thread_ticks(self) -> dict[int, tuple[str, int]]:
        """tid -> (thread name, CPU ticks so far) of every thread of the process: native pools (OpenMP, ONNX
        Runtime, OpenVINO) included, which a Python profiler does not see."""
        found = {}
        for stat in Path(f"/proc/{self.pid}/task").glob("*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            fields = text.rsplit(")", 1)[1].split()
            name = text[text.index("(") + 1: text.rindex(")")]
            found[int(stat.parent.name)] = (name, int(fields[11]) + int(fields[12]))
        return found

    def __enter__(self) -> ServerSampler:
        self.peak_rss_mb, self._cpu0, self._threads0 = self._rss_mb(), self.cpu_seconds(), self.thread_ticks()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu = self.cpu_seconds() - self._cpu0
        # Thread names do not tell the pools apart (each is "python"); where the time went by kind of thread does:
        # the main thread serves (tornado: websockets, uploads, sending), each script run has its own thread (ended
        # by now), and the rest are pools and helpers (OpenMP, ONNX Runtime, OpenVINO, the model-slot pool).
        now = self.thread_ticks()
        alive = {tid: (ticks - self._threads0.get(tid, (name, 0))[1]) / self._tick
                 for tid, (name, ticks) in now.items()}
        serving = alive.pop(self.pid, 0.0)
        by_name = {"main thread (serving)": serving,
                   "script runs (threads that ended)": self.cpu - serving - sum(alive.values()),
                   "other threads (engine pools, helpers)": sum(alive.values())}
        self.threads = {k: round(v, 2) for k, v in sorted(by_name.items(), key=lambda kv: -kv[1]) if v >= 0.05}


def _chromium_stats() -> list[tuple[int, list[str]]]:
    """(pid, the fields after the process name in /proc/PID/stat) of every Chromium process now."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1: text.rindex(")")].startswith("chrom"):
            found.append((int(stat.parent.name), text.rsplit(")", 1)[1].split()))
    return found


def chromium_cpu_seconds() -> float:
    """CPU seconds of every Chromium process so far, with its exited children (the load generator's own share of
    the machine: on one computer the browsers compete with the server for the same cores)."""
    ticks = sum(sum(int(v) for v in fields[11:15]) for _, fields in _chromium_stats())  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def lower_browser_priority() -> None:
    """Every Chromium process to nice 19 (renderers forked later inherit it from the zygote): on one machine the
    browsers then take only the CPU the server leaves, as if the students' browsers ran on their own devices."""
    for pid, _ in _chromium_stats():
        try:
            os.setpriority(os.PRIO_PROCESS, pid, 19)
        except OSError:
            continue


def class_photos(folder: Path, sessions: int, tag: bytes = b"") -> list[tuple[Path, Path]]:
    """Two real test-split photos per session, from different classes, copied under names that say whose they
    are; ``tag`` goes into a JPEG comment (same pixels, different bytes)."""
    from mnv2_core import config
    from mnv2_core.images.flowers import flower_samples, spread_over_classes

    samples = spread_over_classes(flower_samples(config.data_dir(), "test"), 2 * sessions)
    folder.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i in range(sessions):
        pair = []
        for step, (path, label) in enumerate(samples[2 * i: 2 * i + 2]):
            target = folder / f"student{i + 1:02d}_photo{step + 1}_class{label}.jpg"
            data = path.read_bytes()
            if tag:  # a COM segment right after SOI
                data = data[:2] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + data[2:]
            target.write_bytes(data)
            pair.append(target)
        pairs.append(tuple(pair))
    return pairs


async def _answer(page, photo: Path, step: int, session: int, timeout_s: float) -> Answer:
    """Upload ``photo`` and wait until its own top-5 is shown; read the top-1 and the heat map's hottest point."""
    width, precision = STEPS[step]
    answer = Answer(session, step, photo.name)
    chart = page.locator("[data-testid=stMarkdown]").filter(has_text=f"Top-5: {photo.name}").first
    start = time.perf_counter()
    try:
        await page.locator("input[type=file]").first.set_input_files(str(photo), timeout=timeout_s * 1000)
        await chart.wait_for(state="visible", timeout=timeout_s * 1000)
        answer.seconds = time.perf_counter() - start
        title = (await chart.inner_text()).splitlines()[0]
        if f"{width} {precision}" not in title:
            answer.error = f"answered by the wrong model: {title}"
        answer.top1 = await chart.locator("tbody tr").first.locator("td").nth(1).inner_text()
        # The heat map is drawn after the top-5, with this photo's name in its caption.
        heat = page.get_by_text(f"What the model sees in {photo.name}").first
        await heat.wait_for(timeout=timeout_s * 1000)
        caption = await heat.inner_text()
        answer.hottest = "x={}, y={}".format(*HOTTEST.search(caption).groups())
        if await page.locator("[data-testid=stException]").count():
            answer.error = "a traceback on the page"
    except Exception as exc:  # noqa: BLE001 (a load test reports every failure and carries on)
        answer.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return answer


async def _session(browser, url: str, session: int, photos: tuple[Path, Path], answer_timeout: float,
                   phase: Phase) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        start = time.perf_counter()
        await page.goto(url, wait_until="domcontentloaded", timeout=answer_timeout * 1000)
        await page.get_by_text("Classify a flower").wait_for(timeout=answer_timeout * 1000)
        phase.visit_seconds.append(time.perf_counter() - start)
        first = await _answer(page, photos[0], 0, session, answer_timeout)
        phase.answers.append(first)
        if first.error:
            return
        # To INT8 and one step narrower; the page answers the first photo again, then the second is uploaded.
        width, precision = STEPS[1]
        await page.locator("[data-testid=stButtonGroup]").get_by_text(precision, exact=True).click()
        await page.get_by_role("slider").first.press("ArrowLeft")
        await page.locator("[data-testid=stMarkdown]").filter(has_text="Top-5: ").filter(
            has_text=f"{width} {precision}").first.wait_for(timeout=answer_timeout * 1000)
        phase.answers.append(await _answer(page, photos[1], 1, session, answer_timeout))
    except Exception as exc:  # noqa: BLE001
        step = sum(a.session == session for a in phase.answers)
        phase.answers.append(Answer(session, step, "", error=f"{type(exc).__name__}: "
                                                             f"{str(exc).splitlines()[0][:160]}"))
    finally:
        await context.close()


async def _phase(browser, url: str, sampler_pid: int, photos: list[tuple[Path, Path]], concurrent: bool,
                 answer_timeout: float, cache: Path | None = None) -> Phase:
    from mnv2_core.measure.serving import answer_times

    phase = Phase(len(photos), concurrent)
    earlier = len(answer_times(sampler_pid, cache=cache))
    start, browser_cpu = time.perf_counter(), chromium_cpu_seconds()
    with ServerSampler(sampler_pid) as sampler:
        if concurrent:
            await asyncio.gather(*(_session(browser, url, i, p, answer_timeout, phase) for i, p in enumerate(photos)))
        else:
            for i, p in enumerate(photos):
                await _session(browser, url, i, p, answer_timeout, phase)
    phase.wall_seconds = time.perf_counter() - start
    phase.browser_cpu_seconds = chromium_cpu_seconds() - browser_cpu
    phase.server_cpu_seconds, phase.peak_rss_mb = sampler.cpu, sampler.peak_rss_mb
    phase.server_threads = sampler.threads
    timed = answer_times(sampler_pid, cache=cache, skip=earlier)
    phase.server_top5_s = [t.top5_s for t in timed]
    phase.heat_after_top5_s = [t.heat_s - t.top5_s for t in timed if t.heat_s is not None]
    phase.answers.sort(key=lambda a: (a.session, a.step))
    return phase


def _compare(phase: Phase, reference: Phase) -> None:
    alone = {(a.session, a.step): a for a in reference.answers if not a.error}
    for a in phase.answers:
        ref = alone.get((a.session, a.step))
        if ref is not None and not a.error and (a.top1, a.hottest) != (ref.top1, ref.hottest):
            phase.differing.append(f"student {a.session + 1} step {a.step + 1}: {a.top1} at {a.hottest}, alone "
                                   f"{ref.top1} at {ref.hottest}")


async def _run(url: str, pid: int, sessions: list[int], folder: Path, answer_timeout: float,
               cache: Path | None = None) -> list[Phase]:
    from playwright.async_api import async_playwright

    chromium = chromium_path()
    if chromium is None:
        raise SystemExit("The load test drives the system Chromium: apt-get install chromium")
    biggest = max(sessions)
    cores = os.sched_getaffinity(0)
    if BROWSER_CPUS:
        os.sched_setaffinity(0, BROWSER_CPUS)  # this process and the Chromium it starts: the cores the server leaves
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            lower_browser_priority()
            try:
                alone = class_photos(folder / "alone", biggest)
                reference = await _phase(browser, url, pid, alone, False, answer_timeout, cache)
                phases = [reference]
                for n in sessions:
                    if n <= 1:
                        continue  # the reference phase is the one-session run
                    photos = class_photos(folder / f"at_once_{n}", n, tag=f"{n} at once".encode())
                    phase = await _phase(browser, url, pid, photos, True, answer_timeout, cache)
                    _compare(phase, reference)
                    phases.append(phase)
            finally:
                await browser.close()
    finally:
        os.sched_setaffinity(0, cores)  # a test suite that ran this goes on with every core
    return phases


def run_load_test(sessions: list[int], *, timeout: float = 1200, answer_timeout: float = 240,
                  cache: Path | None = None, server: tuple[str, int] | None = None, log=print) -> list[dict]:
    """Serve the app, run the reference and each concurrent phase, and return one summary per phase.
    ``server``: (url, pid) of an app already running (e.g. under a profiler) instead of a fresh one."""
    if not sessions or max(sessions) > MAX_SESSIONS or min(sessions) < 1:
        raise ValueError(f"sessions must be between 1 and {MAX_SESSIONS}")
    folder = Path(tempfile.mkdtemp(prefix="mnv2_classroom_"))
    order = sorted(set(sessions))
    try:
        if server:
            phases = asyncio.run(asyncio.wait_for(_run(*server, order, folder, answer_timeout), timeout))
            server_log = ""
        else:
            with serve_app(cache, log=folder / "server.log", cpus=SERVER_CPUS) as (url, proc):
                phases = asyncio.run(asyncio.wait_for(_run(url, proc.pid, order, folder, answer_timeout, cache),
                                                      timeout))
            server_log = (folder / "server.log").read_text()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summaries = []
    for phase in phases:
        summary = phase.summary()
        summary["error_list"] = [f"student {a.session + 1} step {a.step + 1}: {a.error}" for a in phase.answers
                                 if a.error]
        summary["differing_list"] = phase.differing
        summary["visit_p50_s"] = round(statistics.median(phase.visit_seconds), 2) if phase.visit_seconds else None
        summary["answers_detail"] = [asdict(a) for a in phase.answers]
        summaries.append(summary)
        log(" | ".join(f"{k} {summary[k]}" for k in ("sessions", "runs", "answers", "errors", "differing", "p50_s",
                                                     "p95_s", "visit_p50_s", "server_top5_p50_s", "server_top5_p95_s",
                                                     "heat_after_top5_p95_s", "peak_rss_mb", "server_cpu_s",
                                                     "cpu_per_answer_s", "browser_cpu_s", "wall_s")))
        log(f"  server CPU by thread: {summary['server_threads_cpu_s']}")
        for line in summary["error_list"] + summary["differing_list"]:
            log(f"  {line}")
    if "Traceback" in server_log:
        log("the server printed a traceback:\n" + server_log[-4000:])
        summaries[-1]["server_traceback"] = True
    return summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", nargs="+", type=int, default=[10, 30],
                        help="how many sessions at once, per phase (the reference phase runs the largest number "
                             "one after another and is reported as 1 session)")
    parser.add_argument("--timeout", type=float, default=1200, help="stop the whole run after this many seconds")
    parser.add_argument("--answer-timeout", type=float, default=240, help="an answer not shown by then is an error")
    parser.add_argument("--json", type=Path, default=None, help="also write the summaries here")
    parser.add_argument("--url", default=None, help="an app already running (with --pid): e.g. under py-spy")
    parser.add_argument("--pid", type=int, default=None, help="that server's process id, for its RSS and CPU")
    args = parser.parse_args(argv)
    if (args.url is None) != (args.pid is None):
        parser.error("--url and --pid go together")
    summaries = run_load_test(args.sessions, timeout=args.timeout, answer_timeout=args.answer_timeout,
                              server=(args.url, args.pid) if args.url else None)
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2))
    failed = any(s["errors"] or s["differing"] or s.get("server_traceback") for s in summaries)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
