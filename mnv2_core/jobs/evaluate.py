"""Score a model's flower checkpoint on a split, from the image files exactly as the app prepares an upload, on
the phone proxy of that split and on the real-photo dev set: the command that re-measures the accuracy the app and
the README quote."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mnv2_core.images.flowers import split_samples
from mnv2_core.measure.accuracy import Report, classification_report
from mnv2_core.measure.real_photos import RealPhotoScore
from mnv2_core.models.weights import LoadedModel, load_flower_model, load_model
from mnv2_core.runtime.passes import split_logits
from mnv2_core.train.run import phone_proxy_scores


def real_photo_score(loaded: LoadedModel, init: str = "default", command: str = "") -> RealPhotoScore:
    """The checkpoint's figures on the real-photo dev set, with its recorded "not sure" threshold (if any)."""
    from mnv2_core.images.real_photos import real_photos
    from mnv2_core.measure import open_set, real_photos as measure

    photos = real_photos()
    preprocess = loaded.info.preprocess
    logits = split_logits(loaded.model, list(photos.labelled), preprocess, desc="real photos").numpy()
    unknown = split_logits(loaded.model, [(p, 0) for p in photos.unknown], preprocess, desc="real photos, not "
                             "among the 102").numpy()
    identity = open_set.checkpoint_identity(loaded.info)
    return measure.score(loaded.name, loaded.width, init, identity, logits,
                         np.array([y for _, y in photos.labelled]), unknown,
                         open_set.threshold_for(loaded.name, loaded.width, identity), command)


@dataclass(frozen=True)
class Evaluation:
    """A checkpoint's figures on a split (fractions), its phone proxy and the real photos where measured."""

    model: str
    width: float | None
    checkpoint: str | None
    split: str
    images: int
    resolution: int
    top1: float
    top5: float
    recorded_top1: float | None  # what the checkpoint says it scored on test
    phone: Report | None = None
    real: RealPhotoScore | None = None
    seconds: float = 0.0
    real_skipped: str | None = None  # why the real photos were not measured, where they were asked for

    def as_dict(self) -> dict[str, Any]:
        """Flat, for ``--json``: the phone proxy's and the real photos' figures beside the split's."""
        row = {k: v for k, v in asdict(self).items() if k not in ("phone", "real", "real_skipped")}
        if self.phone:
            row |= {"phone_top1": self.phone.top1, "phone_top5": self.phone.top5}
        if self.real:
            row |= {"real_top1": self.real.top1, "real_top5": self.real.top5, "real_photos": self.real.labelled,
                    "real_unknown_flagged": self.real.unknown_flagged, "real_unknown": self.real.unknown}
        return row

    def line(self) -> str:
        """One line for the terminal: the split, the phone proxy and the real photos, top-1 / top-5."""
        line = (f"{self.model} {self.width if self.width is not None else '':<5} {self.split} ({self.images} images): "
                f"top-1 {self.top1:.2%}  top-5 {self.top5:.2%}")
        if self.phone:
            line += f"  phone proxy {self.phone.top1:.2%} / {self.phone.top5:.2%}"
        if self.real:
            real = self.real
            line += f"  real photos ({real.labelled}) {real.top1:.2%} / {real.top5:.2%}"
            line += (f", 'not sure' on {real.unknown_flagged:.0%} of {real.unknown} flowers outside the 102"
                     if real.unknown_flagged is not None else ", 'not sure' not measured (evaluate --open-set)")
        elif self.real_skipped:
            line += f"  real photos not measured: {self.real_skipped}"
        return line + f"  [{self.seconds:.0f} s]"


def evaluate(model: str, width: float | None, *, split: str = "test", data: str | Path | None = None,
             phone: bool = True, real: bool = True, init: str = "default", command: str = "") -> Evaluation:
    """Top-1/top-5 of the checkpoint the app loads for (model, width), clean, on the phone proxy and on the
    real-photo dev set (recorded in assets/results/real_photos.json); ``init="scratch"``: of the model's
    from-scratch checkpoint instead."""
    started = time.perf_counter()
    loaded = load_flower_model(model, width, init)
    if not loaded.info.trained:
        raise ValueError(f"{loaded.title} has no trained flower checkpoint here, so there is nothing to evaluate.")
    samples = split_samples(data, split)
    preprocess = loaded.info.preprocess
    logits = split_logits(loaded.model, samples, preprocess, desc=split)
    report = classification_report(logits, torch.tensor([y for _, y in samples]))
    proxy = phone_proxy_scores(loaded.model, samples, preprocess) if phone else None
    from mnv2_core.images.real_photos import missing_real_photos

    scored, skipped = None, missing_real_photos() if real else None
    if real and skipped is None:  # a user without the dev set still gets the split and the phone proxy
        from mnv2_core.measure.real_photos import save_scores

        scored = real_photo_score(loaded, init, command)
        save_scores([scored])
    recorded = loaded.info.test_top1 if split == "test" else None
    return Evaluation(model, loaded.width, loaded.info.path, split, len(samples), loaded.resolution, report.top1,
                      report.top5, recorded, proxy, scored, round(time.perf_counter() - started, 1), skipped)


def measure_open_set(model: str, width: float | None, *, data: str | Path | None = None, command: str = ""):
    """Choose the 'not sure' threshold of a flower checkpoint on valid; measure it on test and non-flower photos."""
    from mnv2_core.measure import open_set

    loaded = load_model(model, width, "flowers")
    if not loaded.info.trained:
        raise ValueError(f"{loaded.title} has no trained flower checkpoint here, so it has no threshold to choose.")
    preprocess = loaded.info.preprocess
    splits = {}
    for split in ("valid", "test"):
        samples = split_samples(data, split)
        logits = split_logits(loaded.model, samples, preprocess, desc=split)
        splits[split] = (logits.numpy(), torch.tensor([y for _, y in samples]).numpy())
    with torch.inference_mode():
        others = torch.cat([loaded.model(preprocess.tensor(image)) for _, image in open_set.non_flower_photos()])
    return open_set.score(model, loaded.width, open_set.checkpoint_identity(loaded.info), splits["valid"], splits["test"],
                          others.numpy(), command)
