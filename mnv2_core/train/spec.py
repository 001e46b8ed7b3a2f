"""What to train and how (one CLI invocation), the recipes' defaults, and the errors a request can raise."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from mnv2_core.images.views import Preprocess
from mnv2_core.models import weights
from mnv2_core.train.loop import FitConfig
from mnv2_core.train.provenance import file_identity


@dataclass
class HeadConfig:
    """Phase 1 hyper-parameters: AdamW, cosine decay per step, label smoothing, a fixed seed."""

    epochs: int = 40
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    batch_size: int = 128
    seed: int = 0


NUM_CLASSES = 102

# The progress steps of a run, by their bars' names (the Training page shows them).
DECODE_TRAIN, DECODE_VALID, VALID_PHONE = "decode train", "decode valid", "valid phone proxy"
TEST_STEP, PHONE_STEP = "test", "test phone proxy"


class TrainError(ValueError):
    """A training request that cannot run as asked; ``str()`` is one sentence."""


SCRATCH = FitConfig(epochs=100, lr=2e-3, weight_decay=0.05, batch_size=128, warmup_epochs=3,
                    train_resolution=112)


FINE_TUNE = FitConfig(epochs=10, lr=1e-4, weight_decay=0.01, batch_size=64, warmup_epochs=0.5,
                      train_resolution=224,
                      freeze_bn=True)


MAX_SHIPPED_BYTES = weights.MAX_SHIPPED_BYTES


# Recipes that start from a trained flower checkpoint (--start-from): more fine-tuning at the same width, or a
# new width derived from it by pruning or widening (mnv2_core.models.width_family).
DERIVED = ("finetune", "prune", "widen")


@dataclass
class RunSpec:
    """What to train and how; one CLI invocation."""

    model: str
    width: float | None
    recipe: str  # "transfer" | "scratch"
    init: str  # "imagenet" | "scratch"
    data: str | Path | None
    out: Path
    phases: int = 2
    head: HeadConfig = field(default_factory=HeadConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(**asdict(FINE_TUNE)))
    distill_from: Path | None = None
    start_from: Path | None = None  # finetune / prune / widen: the trained flower checkpoint to start from
    device: str = "auto"
    fresh: bool = False
    stop_after: int | None = None
    replace: bool = False  # ship even when the checkpoint there has a better valid top-1
    command: str = ""

    def key(self) -> str:
        """Identifies a run across restarts (for resuming): everything that changes its result."""
        fields = (self.model, self.width, self.recipe, self.init, str(self.data), self.phases, asdict(self.head),
                  asdict(self.fit), file_identity(self.distill_from), file_identity(self.start_from))
        return hashlib.sha256(repr(fields).encode()).hexdigest()[:16]

    @property
    def kind(self) -> str:
        if self.recipe in DERIVED:
            return self.recipe
        if self.recipe == "transfer":  # distilled or not: it starts from ImageNet
            return f"transfer{self.phases}"
        return "distill" if self.distill_from is not None else "scratch"


@dataclass(frozen=True)
class Start:
    """Where a run starts: how to feed the model, its padding (TF 'SAME' for TensorFlow weights), the start in
    words, and what making the start measured (a pruned or widened width's steps)."""

    preprocess: Preprocess
    padding: str | None
    init: str
    provenance: dict[str, Any] = field(default_factory=dict)


class TrainInterrupted(RuntimeError):
    """A run stopped on purpose (``--stop-after``); its state is saved and the same command resumes it."""


def resolve_device(name: str) -> torch.device:
    """"auto" is CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for, but torch sees no CUDA GPU here.")
    return torch.device(name)
