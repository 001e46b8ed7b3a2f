"""The server's own time per answer, recorded by the app: from the script run that received the photo to its top-5,
and then its heat map, being handed to Streamlit to send. A load test on one machine measures its browsers as much
as the server; these times are the server's alone. One JSON line per answer, appended to a file per server process
in the cache (a line this short is written whole by one ``write`` on a file opened for appending)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mnv2_core import config
from mnv2_core.typed_json import Record


@dataclass(frozen=True)
class AnswerTimes(Record):
    """One answer as the server timed it (seconds since its script run started)."""

    photo: str
    config: str  # the configuration's title
    top5_s: float
    heat_s: float | None = None  # None: the heat map was not shown
    at: float = 0.0  # when the run started (Unix time)


def serving_log(pid: int | None = None, cache: Path | None = None) -> Path:
    """The answer-times file of the server process ``pid`` (default: this process) whose MNV2_CACHE is ``cache``
    (default: this process's)."""
    return (cache or config.cache_dir()) / "serving" / f"answers_{pid or os.getpid()}.jsonl"


class AnswerClock:
    """Started when a script run begins; :meth:`top5_sent` and :meth:`heat_sent` mark the answer's parts, and
    :meth:`record` appends the line (a run that answered nothing records nothing)."""

    def __init__(self) -> None:
        self.started, self.at = time.perf_counter(), time.time()
        self.top5_s: float | None = None
        self.heat_s: float | None = None

    def top5_sent(self) -> None:
        self.top5_s = time.perf_counter() - self.started

    def heat_sent(self) -> None:
        self.heat_s = time.perf_counter() - self.started

    def record(self, photo: str, title: str) -> None:
        if self.top5_s is None:
            return
        line = json.dumps(asdict(AnswerTimes(photo, title, round(self.top5_s, 4),
                                             None if self.heat_s is None else round(self.heat_s, 4),
                                             round(self.at, 3)))) + "\n"
        path = serving_log()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError:  # a full or read-only disk costs the load test its figures, never a student the answer
            pass


def answer_times(pid: int, *, cache: Path | None = None, skip: int = 0) -> list[AnswerTimes]:
    """The answers server ``pid`` recorded, after its first ``skip`` lines (what an earlier phase left)."""
    try:
        lines = serving_log(pid, cache).read_text(encoding="utf-8").splitlines()[skip:]
    except OSError:
        return []
    return [AnswerTimes.from_json(json.loads(line)) for line in lines if line.strip()]
