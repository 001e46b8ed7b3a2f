"""Grad-CAM: where the model looked, correct when many browser sessions ask at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from mnv2_core.models import mobilenet_v2
from mnv2_core.runtime.explain import grad_cam


def test_grad_cam_on_one_shared_model_from_many_threads_matches_one_at_a_time() -> None:
    torch.manual_seed(0)
    model = mobilenet_v2(width=0.35, num_classes=10).eval()
    inputs = [torch.randn(1, 3, 96, 96) for _ in range(6)]
    alone = [grad_cam(model, x, 3) for x in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda x: grad_cam(model, x, 3), inputs * 4))
    assert all(np.array_equal(map_, alone[i % 6]) for i, map_ in enumerate(together))
    assert not model.features._forward_hooks  # no hook is left on the shared model
