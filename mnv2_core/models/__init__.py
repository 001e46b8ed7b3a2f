"""Model definitions: our MobileNetV2 (from the paper), LeNet-5, and the zoo registry."""

from .lenet5 import LeNet5, lenet5
from .mobilenetv2 import MobileNetV2, mobilenet_v2
from .zoo import MOBILENET_WIDTHS, REGISTRY, ModelSpec, build_model, display_name, get_spec

__all__ = ["LeNet5", "lenet5", "MobileNetV2", "mobilenet_v2", "MOBILENET_WIDTHS", "REGISTRY", "ModelSpec",
           "build_model", "display_name", "get_spec"]
