"""Transfer phase 1 started from the app runs as its own process, one at a time, and its progress file tells the page
where it is and how it ended."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnv2_core.files import atomic_write_json
from mnv2_core.jobs import training
from mnv2_core.progress import RUNNING, StepCounts

pytestmark = pytest.mark.slow  # training runs / real browsers: see pytest.ini


def _wait(folder: Path, timeout: float = 300) -> training.TrainingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = training.job_status(folder)
        if job is not None and not job.running:
            return job
        time.sleep(0.5)
    raise TimeoutError(f"the job did not finish; its log:\n{(folder / 'log.txt').read_text()}")


def test_phase_1_started_in_the_background_records_and_ships_a_run(flowers_dir: Path, tflite_path: Path,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   _tiny_copy) -> None:
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))  # the run's process too: no features cached yet
    data, out, folder = _tiny_copy(flowers_dir, tmp_path / "data"), tmp_path / "out", tmp_path / "job"
    job = training.start_transfer("mobilenet_v2", 1.0, head_epochs=3, out=out, data=data, folder=folder)
    assert job.running and job.describe() == "Loading the model and its ImageNet weights..."
    assert job.command == (f"python -m mnv2_core train --recipe transfer --phases 1 --model mobilenet_v2 --width 1.0 "
                           f"--head-epochs 3 --out {out} --data {data}")
    with pytest.raises(training.JobBusy, match="already going"):
        training.start_transfer("mobilenet_v2", 1.0, out=out, data=data, folder=folder)
    done = _wait(folder)
    assert done.state == "done", done.log_tail()
    assert done.message.startswith("Test top-1 ") and "shipped to" in done.message
    assert done.outcome().startswith(done.message + " Ended ") and done.outcome().endswith(" ago.")
    assert done.plan == ["train features", "valid features", "head", "test", "test phone proxy",
                         "test (fp16 checkpoint)"]
    assert [s.name for s in done.steps] == done.plan and all(s.done == s.total for s in done.steps)
    assert done.step_number == 6 and done.step_fraction == 1.0
    record = json.loads(Path(done.result["results_file"]).read_text())
    assert record["recipe"] == "transfer phase 1 (frozen backbone, linear head)"
    assert "--progress-file" not in record["provenance"]["command"]  # the command that reproduces the run
    assert Path(done.result["checkpoint"]) == out / "checkpoints" / "mobilenet_v2_1.0_flowers102.pt"
    assert "wrote " in done.log_tail()


def _running_progress_file(folder: Path, command: str = "python -m mnv2_core train --model resnet18") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json({"state": RUNNING, "command": command, "started": time.time() - 120,
                       "updated": time.time() - 100, "plan": ["head"], "steps": [], "message": "", "result": {}},
                      folder / "progress.json")


def test_a_run_counts_as_going_exactly_while_its_process_holds_the_lock(tmp_path: Path) -> None:
    """Whatever ends the process (finished, killed, out of memory), the lock goes with it; a reused pid cannot
    keep a dead run alive."""
    _running_progress_file(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / 'lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(120)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert training.job_status(tmp_path).running
        with pytest.raises(training.JobBusy, match="resnet18"):
            training.start_transfer("mobilenet_v2", 1.0, folder=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    job = training.job_status(tmp_path)
    assert job.state == training.STOPPED and not job.running
    assert "ended without saying how" in job.message and "\n" not in job.message


def test_what_stops_a_run_from_starting_is_one_sentence(flowers_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no Oxford-102 photos at .*nowhere"):
        training.start_transfer("mobilenet_v2", 1.0, data=tmp_path / "nowhere", folder=tmp_path / "job")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ValueError, match="cannot write its job folder .*MNV2_CACHE"):
        training.start_transfer("mobilenet_v2", 1.0, folder=tmp_path / "a_file" / "job")


def test_a_run_that_fails_says_why_in_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "data" / "train" / "1").mkdir(parents=True)  # a train folder, and nothing else
    job = training.start_transfer("mobilenet_v2", 1.0, data=tmp_path / "data", out=tmp_path / "out",
                                  folder=tmp_path / "job")
    failed = _wait(tmp_path / "job", timeout=120)
    assert failed.state == "failed" and failed.command == job.command
    assert "folder" in failed.message and "\n" not in failed.message and "Traceback" not in failed.message


def test_no_job_reads_as_none_and_a_damaged_progress_file_too(tmp_path: Path) -> None:
    assert training.job_status(tmp_path) is None
    (tmp_path / "progress.json").write_text('{"state": "runn')
    assert training.job_status(tmp_path) is None


def test_the_step_line_counts_the_step_its_place_and_the_time_left() -> None:
    now = time.time()
    job = training.TrainingJob(state=RUNNING, command="", started=now - 30, updated=now,
                               plan=["train features", "valid features", "head"],
                               steps=[StepCounts("valid features", 300, 900, "img", now - 10, 10.0, 0)])
    assert job.step_number == 2 and job.step_fraction == pytest.approx(1 / 3)
    assert job.step_seconds_left == pytest.approx(20.0)
    assert job.describe() == "Step 2 of 3: valid features, 300/900 img, about 20 s left in this step"


@pytest.mark.parametrize("content", [b"[1, 2]", b"\xff\xfe not utf-8", b"null"])
def test_a_progress_file_that_is_not_a_job_reads_as_no_run(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "progress.json").write_bytes(content)
    assert training.job_status(tmp_path) is None
