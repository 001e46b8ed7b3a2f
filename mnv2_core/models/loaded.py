"""A loaded model and what is known of its weights (as torchvision's weights enums carry it): the types every
weights source returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from torch import nn

from mnv2_core.images.views import Preprocess
from mnv2_core.models.registry import model_title

Source = Literal["checkpoint", "torchvision-cache", "timm-cache", "tflite", "keras", "torchvision-download", "timm-download",
                 "untrained"]


class WeightsError(ValueError):
    """A checkpoint exists but cannot be used; the message is one sentence for the UI."""


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a model carries, where they came from, and how to feed it."""

    source: Source
    trained: bool
    description: str
    classes: str
    path: str | None = None
    preprocess: Preprocess = Preprocess()
    accuracy: dict[str, float] = field(default_factory=dict)  # measured by this project (ACCURACY_KEYS)
    provenance: dict[str, Any] = field(default_factory=dict)  # how the weights were made, or where they come from
    meta: dict[str, Any] = field(default_factory=dict)  # a checkpoint's metadata, whole

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def test_top1(self) -> float | None:
        """The Oxford-102 test top-1 measured here, where it was recorded."""
        value = self.accuracy.get("test_top1")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def recipe(self) -> str | None:
        """How the weights were made, in words, where recorded."""
        value = self.provenance.get("recipe")
        return str(value) if value else None


@dataclass
class LoadedModel:
    """A float model in eval mode, its weights' provenance, and what its outputs mean."""

    name: str
    width: float | None
    model: nn.Module
    info: WeightsInfo

    @property
    def title(self) -> str:
        return model_title(self.name, self.width)

    @property
    def resolution(self) -> int:
        return self.info.preprocess.resolution


# What a checkpoint's metadata records of the accuracy measured here (Oxford-102), and of how it was made.
ACCURACY_KEYS = ("test_top1", "test_top5", "test_phone_top1", "test_phone_top5", "valid_top1", "fp32_test_top1")
PROVENANCE_KEYS = ("run_id", "recipe", "init", "kind")
