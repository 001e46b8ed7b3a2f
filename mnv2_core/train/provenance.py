"""Where a run came from: the code (git HEAD, uncommitted changes), the machine, and the files it read."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import torch

from mnv2_core import config


def git_commit() -> dict[str, Any]:
    """HEAD and whether the working tree had uncommitted changes when the run was made."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.REPO_ROOT, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        # Uncommitted or untracked library code means HEAD alone does not reproduce the run.
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "mnv2_core"], cwd=config.REPO_ROOT,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return {"git_commit": head, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


def device_string(device: torch.device | None = None) -> str:
    if device is not None and device.type == "cuda":
        return f"cuda, {torch.cuda.get_device_name(device)}"
    from mnv2_core.measure.machine import this_cpu

    # the CPU's identity, not just "x86_64": runs made on a Zen1 and a Zen4 must be told apart
    return f"cpu, {torch.get_num_threads()} threads, {this_cpu().title}"


def file_identity(path: Path | None) -> str:
    """A checkpoint's path and a hash of its bytes: a run keyed on it notices when the file is replaced."""
    if path is None or not Path(path).is_file():
        return str(path)
    return f"{path}:{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}"
