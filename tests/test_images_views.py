"""What the model sees: the Preprocess a model's weights carry (resolution, crop ratio, mean, std, filter)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mnv2_core.images.views import IMAGENET_MEAN, IMAGENET_STD, Preprocess, center_crop_view, to_tensor


def _photo(w: int = 640, h: int = 480) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize(("resolution", "resize"), [(224, 256), (160, 183), (128, 146), (112, 128), (32, 37)])
def test_the_default_crop_ratio_resizes_the_shorter_side_to_256_of_every_224(resolution: int, resize: int) -> None:
    # 224/256 is torchvision's ImageNet ratio; 160 -> 182.9 rounds to 183, as the earlier size*256/224 did
    assert Preprocess(resolution).resize == resize


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "efficientnet_b0"])
def test_torchvision_s_published_recipe_gives_torchvision_s_own_input(name: str) -> None:
    from torchvision.models import get_model_weights

    from mnv2_core.models.imagenet_weights import torchvision_preprocess

    published = get_model_weights(name).DEFAULT  # mobilenet_v2: resize 232; efficientnet_b0: bicubic
    ours = torchvision_preprocess(published)
    image = _photo()
    torch.testing.assert_close(ours.tensor(image)[0], published.transforms()(image), atol=1e-5, rtol=0)


def test_the_view_is_the_tensor_s_picture() -> None:
    p = Preprocess(160, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    image = _photo()
    view = torch.from_numpy(np.array(p.view(image))).permute(2, 0, 1)[None].contiguous()
    torch.testing.assert_close(p.normalize(view), p.tensor(image))
    assert p.view(image).size == (160, 160)


def test_the_functions_and_the_default_recipe_agree() -> None:
    image = _photo(500, 900)
    assert np.array_equal(np.asarray(Preprocess().view(image)), np.asarray(center_crop_view(image, 224)))
    torch.testing.assert_close(Preprocess().tensor(image), to_tensor(image, 224, IMAGENET_MEAN, IMAGENET_STD))


def test_at_keeps_the_recipe_and_changes_only_the_resolution() -> None:
    p = Preprocess(224, 0.9, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), "bicubic")
    assert p.at(112) == Preprocess(112, 0.9, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), "bicubic")
    assert p.as_dict() == {"resolution": 224, "crop_ratio": 0.9, "mean": [0.5] * 3, "std": [0.25] * 3,
                           "interpolation": "bicubic"}


def test_a_photo_is_shown_at_display_size_and_a_small_one_as_it_is() -> None:
    from PIL import Image

    from mnv2_core.images.views import PREVIEW_SIDE, preview

    phone = Image.new("RGB", (4032, 3024), "green")
    shown = preview(phone)
    assert max(shown.size) == PREVIEW_SIDE and shown.size[0] / shown.size[1] == pytest.approx(4 / 3, rel=0.01)
    assert phone.size == (4032, 3024)  # the photo the model sees is left whole
    small = Image.new("RGB", (500, 375))
    assert preview(small) is small
