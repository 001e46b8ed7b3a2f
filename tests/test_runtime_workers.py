"""The bounded pool for model work: requests queue instead of thrashing, and a waiting one says so."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mnv2_core.runtime import workers


def test_never_more_model_work_at_once_than_slots_and_the_queue_is_reported() -> None:
    running, peak, lock = 0, 0, threading.Lock()
    waited: list[int] = []

    def job(_: int) -> None:
        nonlocal running, peak
        with workers.model_slot(on_wait=waited.append):
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1

    with ThreadPoolExecutor(max_workers=workers.SLOTS + 4) as pool:
        list(pool.map(job, range(4 * (workers.SLOTS + 4))))
    assert peak == workers.SLOTS and waited and all(n >= 1 for n in waited)
    assert workers.waiting() == 0


def test_the_pool_has_a_slot_per_core_that_torch_s_threads_leave_free() -> None:
    import torch

    from mnv2_core.measure.machine import this_cpu

    assert workers.SLOTS == max(1, this_cpu().cores // torch.get_num_threads())
