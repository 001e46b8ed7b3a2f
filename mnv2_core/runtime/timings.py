"""Engine timings measured on this machine, one record per CPU identity, and the engine choice they decide.

A record lives in ``MNV2_CACHE/engines/<cpu key>.json`` (:mod:`mnv2_core.measure.machine`): the CPU, and one row
per (model, width, precision, engine, variant) with its median and p90 latency, the command or page that measured
it and when. The variant names the INT8 file's format (``u8s8-rr``, ``u8u8``; ``fx`` for PyTorch's INT8), since two
INT8 formats of one model run at different speeds. ``python -m mnv2_core bench --save``, the Benchmark page's sweep and the Predictor's first-use measurement
all write the same record; the app's automatic engine is the fastest row of this CPU's record, never another
CPU's. Where a configuration has not been timed here yet, :func:`measure_engines` times each candidate for about a
second and records the result.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from mnv2_core import config
from mnv2_core.files import atomic_write_json
from mnv2_core.measure import machine
from mnv2_core.typed_json import Open, present

# The input resolution is part of a configuration: MobileNetV2 1.0 runs at 224 px transfer-learned and at 128 px in
# the from-scratch comparison (rows recorded before it was kept have none, and match no resolution).
TRIAL_SECONDS = 1.0  # how long each candidate engine is timed at first use

_WRITE_LOCK = threading.Lock()  # browser sessions that measure at once must not lose each other's rows


@dataclass(frozen=True)
class TimingRow(Open):
    """One configuration timed on one engine here: median and p90 latency (ms), and who measured it when."""

    model: str = ""
    width: float | None = None
    precision: str = "fp32"
    engine: str = ""
    variant: str | None = None  # the INT8 file's format, "fx" for PyTorch's INT8, None for FP32
    resolution: int | None = None
    median_ms: float | None = None
    p90_ms: float | None = None
    runs: int | None = None
    threads: int | None = None
    source: str | None = None
    date: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        """What a new measurement replaces: the same configuration on the same engine and variant."""
        return self.model, self.width, self.precision, self.engine, self.variant, self.resolution

    def same(self, model: str, width: float | None, precision: str, resolution: int | None) -> bool:
        return ((self.model, self.width, self.precision) == (model, width, precision)
                and (resolution is None or self.resolution == resolution))


def timings_dir() -> Path:
    return config.cache_dir() / "engines"


def timings_path(cpu: machine.CpuIdentity | None = None) -> Path:
    cpu = cpu or machine.this_cpu()
    return timings_dir() / f"{cpu.key}.json"


def timings_record(cpu: machine.CpuIdentity | None = None) -> dict[str, Any]:
    """This CPU's record ({"cpu", "rows", ...}); empty when nothing was measured on it yet."""
    cpu = cpu or machine.this_cpu()
    try:
        record = json.loads(timings_path(cpu).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    # The file name is derived from the identity; a record whose identity differs (copied by hand) is not ours.
    if not isinstance(record, dict) or record.get("cpu", {}).get("key") != cpu.key:
        return {}
    return record


def measured_timings(cpu: machine.CpuIdentity | None = None) -> list[TimingRow]:
    """This CPU's timed rows (rows that do not read are left out)."""
    rows = []
    for raw in timings_record(cpu).get("rows", []):
        try:
            rows.append(TimingRow.from_json(raw))
        except TypeError:
            continue
    return [r for r in rows if r.model and r.median_ms is not None]


def save_timings(rows: list[TimingRow | Mapping[str, Any]], source: str,
                 cpu: machine.CpuIdentity | None = None) -> Path:
    """Merge ``rows`` into this CPU's record (a new measurement replaces the old one of the same key)."""
    cpu = cpu or machine.this_cpu()
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with _WRITE_LOCK:
        merged = {r.key: r for r in measured_timings(cpu)}
        for row in rows:
            typed = row if isinstance(row, TimingRow) else TimingRow.from_json(dict(row))
            merged[typed.key] = replace(typed, source=source, date=date)
        path = timings_path(cpu)
        atomic_write_json({"cpu": cpu.as_dict(), "updated": date, "rows": [present(r) for r in merged.values()]},
                          path)
    return path


def fastest_engine(model: str, width: float | None, precision: str, candidates: Mapping[str, str | None],
                   cpu: machine.CpuIdentity | None = None, resolution: int | None = None) -> str | None:
    """The candidate measured fastest here for exactly this configuration; None until every candidate is timed.
    ``candidates`` maps each engine to the variant it would run."""
    rows = {r.engine: r.median_ms for r in measured_timings(cpu) if r.same(model, width, precision, resolution)
            and r.engine in candidates and r.variant == candidates[r.engine]}
    if not candidates or any(c not in rows for c in candidates):
        return None
    return min(candidates, key=lambda c: rows[c])


def measure_engines(model: str, width: float | None, precision: str, calls: Mapping[str, Callable[[], object]], *,
                    variants: Mapping[str, str | None] | None = None, seconds: float | None = None,
                    cpu: machine.CpuIdentity | None = None, resolution: int | None = None) -> str:
    """Time each engine's call for about ``seconds`` (after warm-up), record the rows, return the fastest."""
    from mnv2_core.measure.latency import measure_latency
    from mnv2_core.runtime.engines import choose_fastest

    stats = {}

    def trial(engine: str) -> float:
        stats[engine] = measure_latency(calls[engine], warmup=3, runs=200, max_seconds=seconds or TRIAL_SECONDS)
        return stats[engine].median_ms

    fastest, _ = choose_fastest({engine: engine for engine in calls}, trial)
    save_timings([TimingRow(model, width, precision, engine, (variants or {}).get(engine), resolution, s.median_ms,
                            s.p90_ms, s.runs, s.threads) for engine, s in stats.items()], "measured at first use", cpu)
    return fastest


def is_measured(model: str, width: float | None, precision: str, cpu: machine.CpuIdentity | None = None,
                resolution: int | None = None) -> bool:
    """Whether any engine was timed here for this configuration (else auto will time them first)."""
    return any(r.same(model, width, precision, resolution) for r in measured_timings(cpu))


def fastest_row(model: str, width: float | None, precision: str, resolution: int | None,
                cpu: machine.CpuIdentity | None = None) -> TimingRow | None:
    """This CPU's fastest timing of a configuration over every engine and variant timed, or None."""
    rows = [r for r in measured_timings(cpu) if r.same(model, width, precision, resolution)]
    return min(rows, key=lambda r: r.median_ms, default=None)
