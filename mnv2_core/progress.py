"""Progress of long jobs: one tqdm bar on the terminal per step and, for whoever listens, the same counts.

The Training page follows a run it started in the background through :class:`ProgressFile`, a listener that
writes the run's steps, as they go, to a JSON file the page reads. Listening is per context (a ``ContextVar``),
so two jobs in one process never report into each other's file.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

from mnv2_core.files import atomic_write_json
from mnv2_core.typed_json import Record

T = TypeVar("T")


class Listener:
    """Receives a job's plan (the names of its steps, in order) and every step's counts; both optional."""

    def planned(self, steps: list[str]) -> None:
        pass

    def update(self, step: str, done: int, total: int, unit: str) -> None:
        pass


_LISTENER: ContextVar[Listener | None] = ContextVar("mnv2_progress_listener", default=None)


@contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    """Send the progress of everything run inside this block to ``listener``."""
    token = _LISTENER.set(listener)
    try:
        yield listener
    finally:
        _LISTENER.reset(token)


def plan(steps: list[str]) -> None:
    """Announce the steps a job will take, by the names their bars will carry (a cached step may never show)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener.planned(list(steps))


class Bar:
    """A terminal progress bar for one step that also reports its counts to the listener, if any."""

    def __init__(self, total: int, step: str, *, unit: str = "img", initial: int = 0) -> None:
        from tqdm import tqdm

        self.step, self.total, self.unit, self.done = step, int(total), unit, int(initial)
        self._listener = _LISTENER.get()
        self._tqdm = tqdm(total=total, initial=initial, desc=step, unit=unit, file=sys.stderr, dynamic_ncols=True)
        self._report()

    def _report(self) -> None:
        if self._listener is not None:
            self._listener.update(self.step, self.done, self.total, self.unit)

    def update(self, n: int = 1) -> None:
        self.done += n
        self._tqdm.update(n)
        self._report()

    def close(self) -> None:
        self._tqdm.close()

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], step: str, *, unit: str = "img", total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a :class:`Bar` named ``step``."""
    count = total if total is not None else len(items)  # type: ignore[arg-type]
    with Bar(count, step, unit=unit) as bar:
        for item in items:
            yield item
            bar.update(1)


# What a progress file says a job is doing.
@dataclass(frozen=True)
class StepCounts(Record):
    """One step of a job as its progress file records it: how far it got, and in how many seconds."""

    name: str
    done: int = 0
    total: int | None = None
    unit: str = "it"
    started: float = 0.0
    seconds: float = 0.0
    first: int = 0  # the count the step started from (a resumed step does not count earlier work in its rate)



RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass
class ProgressState(Record):
    """A job's progress file: its state, process, command, plan, steps so far and outcome."""

    state: str = RUNNING
    pid: int = 0
    command: str = ""
    started: float = 0.0
    updated: float = 0.0
    plan: list[str] = field(default_factory=list)
    steps: list[StepCounts] = field(default_factory=list)
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)



class ProgressFile(Listener):
    """Writes a job's plan, its steps' counts and its outcome to one JSON file, atomically, at most twice a
    second while a step runs (always when a step starts or ends), so a reader never sees half a file."""

    def __init__(self, path: Path, *, command: str = "", min_interval: float = 0.5) -> None:
        self.path, self.min_interval = Path(path), min_interval
        self.state = ProgressState(pid=os.getpid(), command=command, started=time.time())
        self._written = 0.0
        self._write()

    def _write(self) -> None:
        self.state.updated = time.time()
        try:
            atomic_write_json(asdict(self.state), self.path)
        except OSError:  # a full disk costs the page its progress, never the job its run
            pass
        self._written = time.monotonic()

    def planned(self, steps: list[str]) -> None:
        self.state.plan = list(steps)
        self._write()

    def update(self, step: str, done: int, total: int, unit: str) -> None:
        steps = self.state.steps
        now = time.time()
        new = not steps or steps[-1].name != step or done < steps[-1].done
        if new:
            steps.append(StepCounts(step, done, total, unit, now, 0.0, done))
        steps[-1] = replace(steps[-1], done=done, total=total, seconds=round(now - steps[-1].started, 2))
        if new or done >= total or time.monotonic() - self._written >= self.min_interval:
            self._write()

    def finish(self, message: str, **result: Any) -> None:
        self.state.state, self.state.message, self.state.result = DONE, message, result
        self._write()

    def fail(self, message: str) -> None:
        self.state.state, self.state.message = FAILED, message
        self._write()
