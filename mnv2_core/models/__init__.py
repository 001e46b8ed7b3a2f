"""Models and their weights: our MobileNetV2 (from the paper) and LeNet-5, the registry, where weights come from
(weights, tflite), how every width is made from the 1.0 (width_family), and the published figures (references)."""

from mnv2_core.models.lenet5 import LeNet5, lenet5
from mnv2_core.models.mobilenetv2 import MobileNetV2, mobilenet_v2
from mnv2_core.models.registry import MOBILENET_WIDTHS, REGISTRY, ModelSpec, build_model, model_title, get_spec

__all__ = ["LeNet5", "lenet5", "MobileNetV2", "mobilenet_v2", "MOBILENET_WIDTHS", "REGISTRY", "ModelSpec",
           "build_model", "model_title", "get_spec"]
