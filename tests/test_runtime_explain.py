"""Where the model looked: the heat map from the forward pass equals Grad-CAM, and Grad-CAM is correct when many
browser sessions ask at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from mnv2_core.models import mobilenet_v2
from mnv2_core.runtime.explain import grad_cam, heat_map


def test_grad_cam_on_one_shared_model_from_many_threads_matches_one_at_a_time() -> None:
    torch.manual_seed(0)
    model = mobilenet_v2(width=0.35, num_classes=10).eval()
    inputs = [torch.randn(1, 3, 96, 96) for _ in range(6)]
    alone = [grad_cam(model, x, 3) for x in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda x: grad_cam(model, x, 3), inputs * 4))
    assert all(np.array_equal(map_, alone[i % 6]) for i, map_ in enumerate(together))
    assert not model.features._forward_hooks  # no hook is left on the shared model


MODELS = [("mobilenet_v2", 0.35), ("mobilenet_v2", 1.0), ("resnet18", None), ("resnet50", None),
          ("efficientnet_b0", None), ("lenet5", None)]


@pytest.mark.parametrize("name, width", MODELS)
def test_the_heat_map_from_the_forward_pass_is_grad_cam(name: str, width: float | None, sample_flower: Path) -> None:
    """CAM from the answering pass's feature map equals Grad-CAM at that map (LeNet-5: Grad-CAM through its head)."""
    from mnv2_core.images.decode import load_path
    from mnv2_core.models.feature_map import WithFeatureMap, cam_weights, split_at_feature_map
    from mnv2_core.models.weights import load_model

    loaded = load_model(name, width, "flowers")
    x = loaded.info.preprocess.tensor(load_path(sample_flower).image)
    head = split_at_feature_map(loaded.model)[1]
    assert (cam_weights(head) is None) == (name == "lenet5")  # CAM is exact wherever the head is pool + linear
    with torch.inference_mode():
        logits, features = WithFeatureMap(loaded.model)(x)
        torch.testing.assert_close(logits, loaded.model(x))  # the cut changes nothing
    top1 = int(logits.argmax(1))
    for target in (top1, 7):  # the answer, and a class the model may see no evidence for (an all-zero map)
        cam = heat_map(features, head, target, x.shape[-1])
        assert cam.shape == x.shape[-2:] and (cam.max() == pytest.approx(1.0) or target != top1)
        np.testing.assert_allclose(cam, grad_cam(loaded.model, x, target), atol=1e-5)


def test_the_overlay_dims_what_the_model_did_not_use_and_tints_where_it_looked() -> None:
    from PIL import Image

    from mnv2_core.runtime.explain import overlay

    heat = np.zeros((8, 8), dtype=np.float32)
    heat[:, 4:] = 1.0
    shown = np.asarray(overlay(Image.new("RGB", (8, 8), (200, 40, 40)), heat), dtype=np.int32)  # a red flower
    cold, hot = shown[0, 0], shown[0, 7]
    assert cold.sum() < 0.5 * hot.sum()  # the unused half is dimmed, so a red tint on red still stands out
    assert hot[0] > hot[2]  # red where the model looked
