"""Writing files so that a crash, a full disk or two writers at once never leave a half-written file behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable


def atomic_write(target: Path, write: Callable[[BinaryIO], object], mode: int = 0o644) -> None:
    """Call ``write`` on a temporary file beside ``target``, then rename it over ``target`` in one step."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; checkpoints and results are shared and committed
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(obj: Any, target: Path) -> None:
    import torch

    atomic_write(target, lambda fh: torch.save(obj, fh))


def atomic_write_json(data: Any, target: Path) -> None:
    atomic_write(target, lambda fh: fh.write((json.dumps(data, indent=1) + "\n").encode("utf-8")))


def os_error_sentence(exc: OSError) -> str:
    """One sentence for a file the app could not read or write (an OSError's args[0] is only its number)."""
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"A file could not be read or written{where}: {exc.strerror or exc}. If it is under the cache, set "
            "MNV2_CACHE to a folder this app can write.")
