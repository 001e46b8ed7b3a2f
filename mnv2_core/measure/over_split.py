"""A model over a whole split, the one loop every score runs: each image decoded from its file by the app's decoder
(at full size) and prepared as the app prepares an upload, or taken from a bank of decoded views, passed through one
or more batch functions. Which engine runs a batch is the caller's choice (:mod:`mnv2_core.runtime.passes`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from mnv2_core.images.augment import ImageBank, eval_batch
from mnv2_core.images.flowers import FlowerDataset
from mnv2_core.images.views import Preprocess
from mnv2_core.progress import Bar

Batch = Callable[[torch.Tensor], torch.Tensor]


@torch.inference_mode()
def over_files(batches: Mapping[str, Batch], samples: list[tuple[Path, int]], preprocess: Preprocess, *,
               batch_size: int = 32, desc: str = "test") -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Every batch function's float outputs on ``samples`` (each file decoded once), and the labels; with a
    progress bar named ``desc``."""
    from torch.utils.data import DataLoader

    def transform(image) -> torch.Tensor:
        return preprocess.tensor(image)[0]

    loader = DataLoader(FlowerDataset(samples, transform), batch_size=batch_size, shuffle=False, num_workers=0)
    out: dict[str, list[torch.Tensor]] = {key: [] for key in batches}
    ys = []
    with Bar(len(samples), desc) as bar:
        for images, targets in loader:
            for key, batch in batches.items():
                out[key].append(batch(images).float().cpu())
            ys.append(targets)
            bar.update(len(targets))
    empty = torch.zeros(0)
    return {k: torch.cat(v) if v else empty for k, v in out.items()}, torch.cat(ys).long() if ys else empty.long()


@torch.inference_mode()
def over_bank(batch: Batch, bank: ImageBank, preprocess: Preprocess, device: torch.device,
              batch_size: int = 128) -> torch.Tensor:
    """``batch``'s float outputs on every view of ``bank``, with the test recipe (resize, centre crop)."""
    out = []
    for start in range(0, len(bank), batch_size):
        index = torch.arange(start, min(start + batch_size, len(bank)))
        x = preprocess.normalize(eval_batch(bank, index, preprocess.resolution).to(device, non_blocking=True))
        out.append(batch(x).float().cpu())
    return torch.cat(out)
