"""Published reference figures, each with its source. The only place the app takes numbers it did not measure.

ImageNet-1k validation, 224 px, unless the note says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """A published figure for one model."""

    top1: float | None
    top5: float | None
    params_m: float | None
    macs_m: float | None
    source: str
    note: str = ""
    int8_top1: float | None = None  # published accuracy of a quantized model, where one exists


TF_SLIM = "TF-slim MobileNet README (mobilenet_v1/v2 checkpoints table)"
TORCHVISION = "torchvision weights metadata (IMAGENET1K_V1)"
PAPER = "Sandler et al., MobileNetV2, CVPR 2018, Table 4"

IMAGENET: dict[tuple[str, float | None], Reference] = {
    ("mobilenet_v2", 0.35): Reference(60.3, 82.9, 1.66, 59, TF_SLIM),
    ("mobilenet_v2", 0.5): Reference(65.4, 86.4, 1.95, 97, TF_SLIM),
    ("mobilenet_v2", 0.75): Reference(69.8, 89.6, 2.61, 209, TF_SLIM),
    ("mobilenet_v2", 1.0): Reference(71.878, 90.286, 3.50, 300.8, TORCHVISION,
                                     "IMAGENET1K_V2: 72.154/90.822; quantized INT8: 71.658", int8_top1=71.658),
    ("mobilenet_v2", 1.4): Reference(75.0, 92.5, 6.06, 582, TF_SLIM),
    ("resnet18", None): Reference(69.758, 89.078, 11.69, 1814, TORCHVISION),
    ("resnet50", None): Reference(76.130, 92.862, 25.56, 4089, TORCHVISION, "IMAGENET1K_V2: 80.858/95.434"),
    ("efficientnet_b0", None): Reference(77.692, 93.532, 5.29, 385.8, TORCHVISION),
    ("lenet5", None): Reference(None, None, 0.06, 0.42, "LeCun et al. 1998",
                                "MNIST test error 0.95% (32x32 grey digits), not ImageNet"),
}

PAPER_TABLE_4 = (
    # (network, top-1, params M, MACs M) from Sandler et al. 2018, Table 4
    ("MobileNetV1", 70.6, 4.2, 575),
    ("ShuffleNet (1.5)", 71.5, 3.4, 292),
    ("NasNet-A", 74.0, 5.3, 564),
    ("MobileNetV2", 72.0, 3.4, 300),
    ("MobileNetV2 (1.4)", 74.7, 6.9, 585),
)

PAPER_TABLE_3_PEAK_MEMORY_K = (
    # Max number of channels/memory (in Kb) at each spatial resolution, 16-bit floats (Sandler et al. 2018, Table 3)
    ("MobileNetV1", 1600),
    ("ShuffleNet (2x, g=3)", 600),
    ("MobileNetV2", 400),
)


TIMM_SOURCE = "timm results-imagenet.csv"
# ImageNet-1k top-1 of timm's MobileNetV2 weights, the ones the app loads for the ImageNet classes at these widths
TIMM_TOP1: dict[float, float] = {0.5: 65.928, 1.0: 72.910, 1.4: 76.528}


def timm_top1(width: float) -> float | None:
    """The published ImageNet top-1 of timm's MobileNetV2 weights at ``width``."""
    return TIMM_TOP1.get(width)


def imagenet_reference(model: str, width: float | None = None) -> Reference | None:
    """The published ImageNet figure for a model (width only matters for MobileNetV2)."""
    return IMAGENET.get((model, width if model == "mobilenet_v2" else None))


@dataclass(frozen=True)
class FlowersReference:
    """A published Oxford-102 accuracy of an ImageNet-pretrained network fine-tuned on the flowers."""

    network: str
    top1: float  # percent
    params_m: float | None
    source: str


EFFICIENTNET_TABLE_5 = "Tan & Le, EfficientNet, ICML 2019, Table 5"
# Fine-tuned from ImageNet on the official split (2,040 train+valid / 6,149 test images); this project uses the
# Udacity split (6,552 train / 818 valid / 819 test), so the figures show the ceiling, not a like-for-like number.
FLOWERS_TRANSFER: tuple[FlowersReference, ...] = (
    FlowersReference("EfficientNet-B7", 98.8, 64, EFFICIENTNET_TABLE_5),
    FlowersReference("EfficientNet-B5", 98.5, 28, EFFICIENTNET_TABLE_5),
    FlowersReference("Inception-v4", 98.5, 41, "Kornblith, Shlens & Le, 'Do Better ImageNet Models Transfer "
                                              "Better?', CVPR 2019 (as quoted in " + EFFICIENTNET_TABLE_5 + ")"),
    FlowersReference("DAT (domain-adaptive transfer)", 97.7, None, "Ngiam et al. 2018 (as quoted in "
                     + EFFICIENTNET_TABLE_5 + ")"),
)
