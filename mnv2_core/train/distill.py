"""Knowledge distillation (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network"): a frozen teacher's
softened outputs join the labels, loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from mnv2_core.images.views import Preprocess

class DistillSettings(Protocol):
    """What the loss reads of a phase's configuration (:class:`mnv2_core.train.loop.FitConfig` has them)."""

    distill_temperature: float
    distill_alpha: float
    label_smoothing: float


@dataclass
class Teacher:
    """A frozen model whose outputs the student learns from, with its own input normalisation."""

    model: nn.Module
    preprocess: Preprocess


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor, cfg: DistillSettings) -> torch.Tensor:
    """Soft targets at temperature T (scaled by T^2 so gradients keep their size) plus smoothed hard labels."""
    t = cfg.distill_temperature
    soft = F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), reduction="batchmean",
                    log_target=True) * t * t
    hard = F.cross_entropy(student, target, label_smoothing=cfg.label_smoothing)
    return cfg.distill_alpha * soft + (1 - cfg.distill_alpha) * hard
