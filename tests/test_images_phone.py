"""Phone-photo augmentation is seeded and keeps shapes; the phone proxy is the same images in every run."""

from __future__ import annotations

import torch

from mnv2_core.images.phone import phone_batch, phone_like, proxy_image


def _photo(seed: int = 0, size: tuple[int, int] = (256, 340)) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    # smooth content (a gradient and a disc), so blur and JPEG change it the way they change a photo
    y, x = torch.meshgrid(torch.linspace(0, 1, size[0]), torch.linspace(0, 1, size[1]), indexing="ij")
    disc = ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.08).float()
    rgb = torch.stack([x, y, disc]) * 200 + torch.rand(3, 1, 1, generator=gen) * 50
    return rgb.round().clamp(0, 255).to(torch.uint8)


def test_phone_like_is_seeded_and_returns_the_requested_square() -> None:
    image = _photo()
    a = phone_like(image, 224, torch.Generator().manual_seed(3))
    b = phone_like(image, 224, torch.Generator().manual_seed(3))
    c = phone_like(image, 224, torch.Generator().manual_seed(4))
    assert a.shape == (3, 224, 224) and a.dtype == torch.uint8
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_distortions_vary_across_draws() -> None:
    """Many draws differ in brightness and framing: the augmentation is not a no-op."""
    image = _photo()
    gen = torch.Generator().manual_seed(0)
    batch = phone_batch([image] * 24, torch.arange(24), 96, gen)
    means = batch.float().mean((1, 2, 3))
    assert batch.shape == (24, 3, 96, 96) and means.std() > 3


def test_proxy_image_is_fixed_per_index_and_differs_between_indices() -> None:
    image = _photo(size=(500, 375))
    first, again, other = proxy_image(image, 5), proxy_image(image, 5), proxy_image(image, 6)
    assert first.shape == (3, 224, 224) and torch.equal(first, again) and not torch.equal(first, other)
