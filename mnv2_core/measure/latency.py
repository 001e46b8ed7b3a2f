"""Wall-clock latency: warm-up, repeats, percentiles and threads, for a model or any callable, and the whole
photo path (12 MP phone JPEG bytes -> top-5) beside the model alone."""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from mnv2_core.measure.probe import BenchError, Resolution, check_runs, eval_mode, example_input


@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock latency of the timed calls (warm-up calls dropped), in milliseconds."""

    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    cv: float  # coefficient of variation: sample stdev / mean
    runs: int  # timed calls actually made (fewer than asked when max_seconds cut the run short)
    warmup: int  # warm-up calls actually made
    threads: int  # torch intra-op threads during the measurement


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default) of already sorted values."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def measure_latency(fn: Callable[[], object], *, warmup: int = 5, runs: int = 30, threads: int | None = None,
                    max_seconds: float | None = None) -> LatencyStats:
    """Call ``fn()`` ``warmup`` times untimed, then ``runs`` times timed with ``time.perf_counter``.

    ``threads`` sets ``torch.set_num_threads`` for the duration and restores the previous value. ``max_seconds``
    bounds the whole call so a slow model cannot stall a page: warm-up stops once half the budget is spent, and timing
    stops once the budget is spent, but never before 3 timed runs (so a median and a spread still exist).
    """
    if runs < 1:
        raise BenchError(f"Need at least 1 timed run, got {runs}.")
    if warmup < 0:
        raise BenchError(f"Warm-up runs cannot be negative, got {warmup}.")
    if threads is not None and threads < 1:
        raise BenchError(f"Thread count must be at least 1, got {threads}.")
    if max_seconds is not None and max_seconds <= 0:
        raise BenchError(f"The time budget must be positive, got {max_seconds} s.")

    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        used_threads = torch.get_num_threads()
        start = time.perf_counter()
        deadline = math.inf if max_seconds is None else start + max_seconds
        warmed = 0
        for _ in range(warmup):
            if time.perf_counter() - start > (deadline - start) / 2:
                break
            fn()
            warmed += 1
        times: list[float] = []
        min_runs = min(3, runs)
        for _ in range(runs):
            if len(times) >= min_runs and time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0)
    finally:
        if threads is not None:
            torch.set_num_threads(previous_threads)

    ordered = sorted(times)
    mean = statistics.fmean(times)
    stdev = statistics.stdev(times) if len(times) > 1 else 0.0
    return LatencyStats(median_ms=_percentile(ordered, 0.5), p90_ms=_percentile(ordered, 0.9), mean_ms=mean,
                        min_ms=ordered[0], cv=stdev / mean if mean > 0 else 0.0, runs=len(times), warmup=warmed,
                        threads=used_threads)


def time_model(model: nn.Module, resolution: Resolution, *, in_channels: int = 3, **kw) -> LatencyStats:
    """Latency of one batch-1 forward pass in eval mode under ``torch.inference_mode``; ``kw`` go to measure_latency."""
    x = example_input(resolution, in_channels, model)
    with eval_mode(model), torch.inference_mode():
        check_runs(model, x)  # fail with a clear message before timing, not inside the loop
        return measure_latency(lambda: model(x), **kw)


def phone_jpeg(source: str | os.PathLike[str], size: tuple[int, int] = (4032, 3024), quality: int = 90) -> bytes:
    """A 12 MP phone-style JPEG (EXIF orientation 6, as a sideways iPhone shot) made from ``source``."""
    import io

    from PIL import Image

    with Image.open(source) as im:
        big = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def jpeg_decode_floor(jpeg: bytes, min_side: int | None = None) -> Callable[[], object]:
    """libjpeg-turbo's reduced-size decode of ``jpeg`` alone (DCT scaling to the app's ``min_side``), as a call:
    what no photo path can beat."""
    import io

    from PIL import Image

    from mnv2_core.images.decode import DECODE_MIN_SIDE

    side = DECODE_MIN_SIDE if min_side is None else min_side

    def decode() -> None:
        with Image.open(io.BytesIO(jpeg)) as im:
            im.draft("RGB", (side, side))
            im.load()

    return decode


@dataclass(frozen=True)
class PhotoPath:
    """A phone photo from bytes to top-5, beside what it is made of, measured in one run (medians)."""

    whole: LatencyStats  # bytes -> upright RGB -> crop, tensor -> model -> top-5
    decode_floor: LatencyStats  # the reduced-size JPEG decode alone
    model: LatencyStats  # the forward pass alone

    @property
    def overhead_ms(self) -> float:
        """What the app adds to the floor and the model: orientation, crop, tensor, softmax, names."""
        return self.whole.median_ms - self.decode_floor.median_ms - self.model.median_ms


def photo_to_prediction(predictor, jpeg: bytes, *, runs: int = 20, warmup: int = 3) -> PhotoPath:
    """Warm latency of bytes -> decoded upright image -> top-5 and its heat map (what the app computes per answer),
    of the JPEG decode floor and of the model alone."""
    from mnv2_core.images.decode import decode_image

    image = decode_image(jpeg).image
    x = predictor.tensor(image)
    whole = measure_latency(lambda: predictor.predict(decode_image(jpeg).image), warmup=warmup, runs=runs)
    floor = measure_latency(jpeg_decode_floor(jpeg), warmup=warmup, runs=runs)
    model = measure_latency(lambda: predictor.logits(x), warmup=warmup, runs=runs)
    return PhotoPath(whole, floor, model)
