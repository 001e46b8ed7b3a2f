"""Every width from one trained MobileNetV2: structured pruning down, function-preserving widening up.

Only MobileNetV2 1.0 has ImageNet weights here, and training the other widths from scratch on two CPU cores gives
poor models. Both operations below write into our own ``mobilenet_v2(width=w)``, so the result has the same
module names as any other width: it loads with ``strict=True``, exports to ONNX and quantizes like the rest.

**Pruning** (0.75, 0.5, 0.35) keeps a subset of the 1.0's channels:

- channel choice by measured importance on training photos: a hidden channel's score is its RMS activation times
  the norm of the projection weights it feeds (what it contributes to the block's output); a residual-stream
  channel's score is its RMS over the stage's block outputs. The blocks of a stage add their outputs into one
  stream, so a stage keeps *one* subset of stream channels; hidden (expansion) channels are chosen per block, and
  the 1280 outputs of the last conv stay whole so that a 1280 -> 102 classifier fits every width;
- a least-squares refit of every layer, in order (He et al. 2017, "Channel Pruning for Accelerating Very Deep
  Neural Networks"; Luo et al. 2017, ThiNet): each 1x1 conv and each depthwise kernel is solved so that the pruned
  network's pre-activations match the 1.0's on the kept channels, *given the pruned network's own inputs*, so
  errors do not pile up through the 17 blocks. The projections are linear (the paper's linear bottleneck), so for
  them the refit is exact least squares on what the block outputs.

**Widening** (1.4) is Net2WiderNet (Chen et al. 2016, "Net2Net"): every new channel copies an old one, and the
weights that read a copied channel are split between the copies, so the wider network computes the same function.
The split is random (weights that sum to one) rather than equal, so the copies receive different gradients and
can specialise during fine-tuning.
"""

from __future__ import annotations

from mnv2_core.models.prune import ChannelPlan, plan_channels, prune
from mnv2_core.models.surgery import stage_of_blocks
from mnv2_core.models.widen import widen

# Bump when pruning or widening changes what it makes: cached starts of training runs are keyed on it.
VERSION = 1

__all__ = ["ChannelPlan", "plan_channels", "prune", "widen", "stage_of_blocks", "VERSION"]
