"""The model zoo: one registry from a name to its builder, input size and published figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from mnv2_core.models.lenet5 import INPUT_SIZE as LENET_INPUT
from mnv2_core.models.lenet5 import lenet5
from mnv2_core.models.mobilenetv2 import mobilenet_v2

MOBILENET_WIDTHS: tuple[float, ...] = (0.35, 0.5, 0.75, 1.0, 1.4)


@dataclass(frozen=True)
class ModelSpec:
    """What the app and the CLI need to know about a model before building it."""

    name: str
    title: str
    build: Callable[..., nn.Module]  # build(num_classes, width) -> nn.Module
    resolution: int
    widths: tuple[float | None, ...] = (None,)
    torchvision_name: str | None = None  # torchvision builder whose ImageNet weights fit this model
    # How this project's default flower checkpoint of the model starts: "imagenet" (transfer-learned) or "scratch".
    # A from-scratch run of a model whose default is transfer-learned is kept beside it, as its own checkpoint.
    flowers_init: str = "scratch"
    # The class sets it comes in: LeNet-5 has no ImageNet form (it is the flowers baseline).
    class_sets: tuple[str, ...] = ("flowers", "imagenet")

    @property
    def has_widths(self) -> bool:
        """Whether the model comes in width multipliers (MobileNetV2); the others take width None."""
        return self.widths != (None,)


def _torchvision(name: str) -> Callable[..., nn.Module]:
    def build(num_classes: int = 1000, width: float | None = None) -> nn.Module:
        import torchvision.models as tvm

        return getattr(tvm, name)(weights=None, num_classes=num_classes)

    return build


REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    REGISTRY[spec.name] = spec
    return spec


register(ModelSpec("mobilenet_v2", "MobileNetV2",
                   lambda num_classes=1000, width=1.0, **kw: mobilenet_v2(width=width or 1.0,
                                                                          num_classes=num_classes, **kw),
                   224, MOBILENET_WIDTHS, "mobilenet_v2", flowers_init="imagenet"))
register(ModelSpec("resnet18", "ResNet18", _torchvision("resnet18"), 224, torchvision_name="resnet18"))
register(ModelSpec("resnet50", "ResNet50", _torchvision("resnet50"), 224, torchvision_name="resnet50"))
register(ModelSpec("efficientnet_b0", "EfficientNet-B0", _torchvision("efficientnet_b0"), 224,
                   torchvision_name="efficientnet_b0"))
register(ModelSpec("lenet5", "LeNet-5", lambda num_classes=10, width=None: lenet5(num_classes=num_classes),
                   LENET_INPUT, class_sets=("flowers",)))


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(REGISTRY)}") from None


def normalise_width(name: str, width: float | None) -> float | None:
    """The width as the model takes it: None for models without widths, 1.0 when unset, else one it comes in."""
    spec = get_spec(name)
    if not spec.has_widths:
        return None
    width = 1.0 if width is None else float(width)
    if width not in spec.widths:
        raise ValueError(f"{spec.title} has widths {', '.join(f'{w:g}' for w in spec.widths)}, not {width:g}")
    return width


def build_model(name: str, num_classes: int = 1000, width: float | None = None, **options) -> nn.Module:
    """Build an untrained model from the registry (``options``: architecture switches such as MobileNetV2's padding)."""
    return get_spec(name).build(num_classes=num_classes, width=width, **options)


def format_width(width: float) -> str:
    """0.35 -> '0.35', 1.0 -> '1.0' (the paper's spelling)."""
    return f"{width:.1f}" if float(width).is_integer() else f"{width:g}"


def model_title(name: str, width: float | None = None, init: str = "default") -> str:
    """E.g. "ResNet18", "MobileNetV2 0.5", "MobileNetV2 1.0 (from scratch)" (``init="scratch"``: the from-scratch
    checkpoint of a model whose default one is transfer-learned)."""
    spec = get_spec(name)
    title = f"{spec.title} {format_width(width)}" if width is not None and spec.has_widths else spec.title
    return title + (" (from scratch)" if init == "scratch" and spec.flowers_init != "scratch" else "")
