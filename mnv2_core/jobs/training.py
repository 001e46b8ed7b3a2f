"""Transfer phase 1 started from the app: ``python -m mnv2_core train --recipe transfer --phases 1`` in a process of
its own, followed through its progress file.

A process, not a thread of the app's server: the run goes on when the browser tab closes or the page reruns, and
it is exactly the run the CLI makes. One at a time per machine, since two training runs on two cores would each
take twice as long. The job's files live in ``MNV2_CACHE/jobs/train``: progress.json, the run's log, and a lock that
the run's process holds for as long as it lives.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnv2_core import config
from mnv2_core.files import atomic_write_json
from mnv2_core.models import get_spec
from mnv2_core.images.flowers import OFFICIAL
from mnv2_core.models.registry import format_width
from mnv2_core.progress import RUNNING, ProgressState, StepCounts
from mnv2_core.train.spec import HeadConfig

STOPPED = "stopped"  # the progress file says running, but its process is gone (killed, or the machine restarted)
DEFAULT_HEAD_EPOCHS = HeadConfig.epochs


def job_dir() -> Path:
    return config.cache_dir() / "jobs" / "train"


@dataclass(frozen=True)
class TrainingJob:
    """What a background training run has done so far, as its progress file and process say."""

    state: str  # running | done | failed | stopped
    command: str
    started: float
    updated: float
    plan: list[str] = field(default_factory=list)
    steps: list[StepCounts] = field(default_factory=list)
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def step(self) -> StepCounts | None:
        """The step going on now (or the last one)."""
        return self.steps[-1] if self.steps else None

    @property
    def step_number(self) -> int | None:
        """1-based place of the current step in the plan (steps a cache made unnecessary count as done)."""
        if self.step and self.step.name in self.plan:
            return self.plan.index(self.step.name) + 1
        return None

    @property
    def step_fraction(self) -> float:
        step = self.step
        return min(1.0, step.done / step.total) if step and step.total else 0.0

    @property
    def step_seconds_left(self) -> float | None:
        """From the current step's own rate so far; None until it has one."""
        step = self.step
        if not step or step.done <= step.first or step.seconds <= 0:
            return None
        rate = (step.done - step.first) / step.seconds
        return (step.total - step.done) / rate

    @property
    def elapsed(self) -> float:
        return (time.time() if self.running else self.updated) - self.started

    def describe(self) -> str:
        """One line on where the run is: step k of n, its counts, and the time left in this step."""
        step = self.step
        if step is None:
            return "Loading the model and its ImageNet weights..."
        where = f"Step {self.step_number} of {len(self.plan)}: " if self.step_number else ""
        left = self.step_seconds_left
        eta = f", about {_duration(left)} left in this step" if left and self.running else ""
        return f"{where}{step.name}, {step.done}/{step.total} {step.unit}{eta}"

    def outcome(self) -> str:
        """How the run ended, and when (the page may show a run that ended days before)."""
        ago = time.time() - self.updated
        when = f"{_duration(ago)} ago" if ago < 5400 else time.strftime("on %Y-%m-%d at %H:%M",
                                                                        time.localtime(self.updated))
        return f"{self.message} Ended {when}."

    def log_tail(self, lines: int = 12) -> str:
        """The end of the run's log, each progress bar at its last state."""
        if self.log is None or not self.log.is_file():
            return ""
        text = self.log.read_bytes()[-20000:].decode("utf-8", "replace")
        rows = [row.split("\r")[-1].rstrip() for row in text.split("\n")]
        rows = [row for i, row in enumerate(rows) if row and (i == 0 or row != rows[i - 1])]
        return "\n".join(rows[-lines:])


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


try:  # POSIX (Linux, macOS): the run holds an advisory lock for as long as its process lives
    import fcntl
except ImportError:  # Windows: a run counts as going while its progress file is fresh
    fcntl = None  # type: ignore[assignment]
QUIET_LIMIT_S = 600  # without locks: a run silent this long is taken for gone


def _try_lock(folder: Path, flags: int = os.O_RDWR | os.O_CREAT) -> int | None:
    """A descriptor holding the job lock, or None while a run holds it."""
    fd = os.open(folder / "lock", flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _going(folder: Path, saved: ProgressState) -> bool:
    """Whether the run of ``folder`` still has a process. The lock dies with its process, whatever the reason
    (finished, killed, out of memory, the machine restarted), and a reused process id cannot fool it."""
    if fcntl is None:
        return time.time() - saved.updated < QUIET_LIMIT_S
    try:
        fd = _try_lock(folder, os.O_RDONLY)
    except OSError:  # no lock file: the run never started
        return False
    if fd is None:
        return True
    os.close(fd)
    return False


def job_status(folder: Path | None = None) -> TrainingJob | None:
    """The latest background training run on this machine, or None if the app never started one."""
    folder = folder or job_dir()
    try:
        raw = json.loads((folder / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, half-copied or not UTF-8 (JSONDecodeError is a ValueError)
        return None
    if not isinstance(raw, dict):
        return None
    saved = ProgressState.from_json(raw)
    state, message = saved.state, saved.message
    if state == RUNNING and not _going(folder, saved):
        state = STOPPED
        message = ("The run ended without saying how (its process was killed, ran out of memory, or the machine "
                   "restarted); its log says more. Starting it again resumes from the features it had extracted.")
    return TrainingJob(state=state, command=saved.command, started=saved.started, updated=saved.updated,
                       plan=saved.plan, steps=saved.steps, message=message, result=saved.result,
                       log=folder / "log.txt")


def transfer_arguments(model: str, width: float | None, *, head_epochs: int = DEFAULT_HEAD_EPOCHS,
                       out: Path | None = None, data: str | Path | None = None) -> list[str]:
    """The CLI arguments of a phase-1 transfer run (what the page shows as the command, and runs)."""
    args = ["train", "--recipe", "transfer", "--phases", "1", "--model", model]
    if get_spec(model).has_widths:
        args += ["--width", format_width(width)]
    args += ["--head-epochs", str(head_epochs)]
    if out is not None and Path(out).resolve() != config.ASSETS_DIR.resolve():
        args += ["--out", str(out)]
    if data is not None:
        args += ["--data", str(data)]
    return args


def missing_data(data: str | Path | None = None) -> str | None:
    """One sentence when there are no Oxford-102 photos to train on, else None."""
    if data == OFFICIAL:
        return None
    folder = Path(data) if data is not None else config.data_dir()
    if (folder / "train").is_dir():
        return None
    return (f"There are no Oxford-102 photos at {folder} (expected train/, valid/ and test/ folders of class ids), "
            "so there is nothing to train on; set MNV2_DATA to the Oxford-102 folder.")


class JobBusy(ValueError):
    """A training run is already going on this machine; ``str()`` is one sentence."""


def start_transfer(model: str, width: float | None, *, head_epochs: int = DEFAULT_HEAD_EPOCHS,
                   out: Path | None = None, data: str | Path | None = None,
                   folder: Path | None = None) -> TrainingJob:
    """Start phase-1 transfer for (model, width) in the background and return its first status.

    Raises ValueError, in one sentence, when a run is already going, there is no data, or the job folder cannot
    be written."""
    folder = folder or job_dir()
    problem = missing_data(data)
    if problem:
        raise ValueError(problem)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = _try_lock(folder) if fcntl is not None else -1
    except OSError as exc:
        raise ValueError(f"The app cannot write its job folder {folder} ({exc.strerror}); set MNV2_CACHE to a "
                         f"folder it can write.") from exc
    current = job_status(folder)
    if lock is None or (fcntl is None and current is not None and current.running):
        what = current.command if current is not None else "python -m mnv2_core train"
        raise JobBusy(f"A training run is already going on this machine ({what}); wait for it to finish.")
    args = transfer_arguments(model, width, head_epochs=head_epochs, out=out, data=data)
    progress = folder / "progress.json"
    command = [sys.executable, "-m", "mnv2_core", *args, "--progress-file", str(progress)]
    if shutil.which("nice"):  # the app's own visitors keep the CPU first; training takes what is left
        command = ["nice", "-n", "10", *command]
    try:
        # The run rewrites this file as soon as it starts; until then it says the run is starting.
        atomic_write_json({"state": RUNNING, "command": "python -m mnv2_core " + shlex.join(args),
                           "started": time.time(), "updated": time.time(), "plan": [], "steps": [], "message": "",
                           "result": {}}, progress)
        with open(folder / "log.txt", "wb") as log:
            # The child inherits the locked descriptor: the lock lives exactly as long as the run's process.
            subprocess.Popen(command, cwd=config.REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True,
                             pass_fds=(lock,) if lock >= 0 else (), env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except OSError as exc:
        raise ValueError(f"The training run could not start ({exc.strerror or exc}).") from exc
    finally:
        if lock >= 0:
            os.close(lock)
    return job_status(folder)  # type: ignore[return-value]
