"""Training images held in memory and their augmentation: seeded random crops that keep their shapes."""

from __future__ import annotations

from pathlib import Path

import torch

from mnv2_core.images.augment import load_bank, train_batch
from mnv2_core.images.flowers import flower_samples



def test_augmentation_is_seeded_and_keeps_shapes(flowers_dir: Path) -> None:
    bank = load_bank(flower_samples(flowers_dir, "valid")[:4], 73, desc="t")
    assert all(min(im.shape[1:]) == 73 and im.dtype == torch.uint8 for im in bank.images)
    index = torch.arange(4)
    one = train_batch(bank, index, 64, torch.Generator().manual_seed(1))
    two = train_batch(bank, index, 64, torch.Generator().manual_seed(1))
    other = train_batch(bank, index, 64, torch.Generator().manual_seed(2))
    assert one.shape == (4, 3, 64, 64) and torch.equal(one, two) and not torch.equal(one, other)
