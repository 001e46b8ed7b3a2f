"""Progress: every step's bar reports its counts to the listener of its context, and a progress file holds a job's
plan, steps and outcome as it goes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from mnv2_core import progress


class Recorder(progress.Listener):
    def __init__(self) -> None:
        self.plans: list[list[str]] = []
        self.updates: list[tuple[str, int, int, str]] = []

    def planned(self, steps: list[str]) -> None:
        self.plans.append(steps)

    def update(self, step: str, done: int, total: int, unit: str) -> None:
        self.updates.append((step, done, total, unit))


def test_a_tracked_step_reports_every_item_to_the_listener() -> None:
    recorder = Recorder()
    with progress.listening(recorder):
        progress.plan(["decode", "head"])
        assert list(progress.track(["a", "b", "c"], "decode")) == ["a", "b", "c"]
        with progress.Bar(10, "head", unit="epoch", initial=4) as bar:
            bar.update(6)
    assert recorder.plans == [["decode", "head"]]
    assert recorder.updates == [("decode", 0, 3, "img"), ("decode", 1, 3, "img"), ("decode", 2, 3, "img"),
                                ("decode", 3, 3, "img"), ("head", 4, 10, "epoch"), ("head", 10, 10, "epoch")]


def test_nothing_is_reported_outside_a_listening_block_or_to_another_thread() -> None:
    recorder = Recorder()
    other: list[int] = []

    def elsewhere() -> None:
        other.extend(progress.track([1, 2], "elsewhere"))

    with progress.listening(recorder):
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    list(progress.track([1], "after"))
    assert other == [1, 2] and recorder.updates == []


def test_a_progress_file_holds_the_plan_the_steps_and_the_outcome(tmp_path: Path) -> None:
    path = tmp_path / "job" / "progress.json"
    job = progress.ProgressFile(path, command="python -m mnv2_core train", min_interval=3600)
    assert json.loads(path.read_text())["state"] == progress.RUNNING
    with progress.listening(job):
        progress.plan(["train features", "head"])
        for _ in progress.track(range(5), "train features"):
            pass
        with progress.Bar(3, "head", unit="epoch") as bar:
            bar.update(1)
    saved = json.loads(path.read_text())
    # a step is written when it starts and when it ends; between, at most every min_interval
    assert [(s["name"], s["done"], s["total"]) for s in saved["steps"]] == [("train features", 5, 5), ("head", 0, 3)]
    assert saved["plan"] == ["train features", "head"] and saved["command"] == "python -m mnv2_core train"
    job.finish("Test top-1 90.0%.", test_top1=0.9)
    saved = json.loads(path.read_text())
    assert saved["state"] == progress.DONE and saved["message"] == "Test top-1 90.0%."
    assert saved["result"] == {"test_top1": 0.9} and saved["steps"][-1]["done"] == 1
    job.fail("It broke.")
    assert json.loads(path.read_text())["state"] == progress.FAILED
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]  # no temporary file left behind
