"""A bounded pool for model work, shared by every browser session of the app.

Thirty students pressing "classify" at once must queue rather than thrash: 30 forward passes, each asking for
all the cores, run far slower together than one after another. A request takes a slot for its forward pass or
heat map and gives it back. There are as many slots as the cores hold torch's intra-op threads (one on a
2-core machine where torch uses 2 threads). A request that finds every slot taken says so once (``on_wait``), so
the page can show "waiting for a free core", and then waits its turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _slots() -> int:
    import torch

    from mnv2_core.measure.machine import this_cpu

    return max(1, this_cpu().cores // max(1, torch.get_num_threads()))


SLOTS = _slots()
_POOL = threading.BoundedSemaphore(SLOTS)
_waiting = 0
_waiting_lock = threading.Lock()


def waiting() -> int:
    """Requests waiting for a slot right now."""
    return _waiting


@contextmanager
def model_slot(on_wait: Callable[[int], None] | None = None) -> Iterator[None]:
    """Hold one slot of the pool for the duration; ``on_wait(requests ahead)`` is called once if it must wait."""
    global _waiting
    if not _POOL.acquire(blocking=False):
        with _waiting_lock:
            _waiting += 1
            ahead = _waiting
        try:
            if on_wait is not None:
                on_wait(ahead)
            _POOL.acquire()
        finally:
            with _waiting_lock:
                _waiting -= 1
    try:
        yield
    finally:
        _POOL.release()
