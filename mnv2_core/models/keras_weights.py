"""Import the Keras applications ImageNet MobileNetV2 0.35 backbone (a TF.js layers export) into our MobileNetV2.

Read without the TF runtime: ``model.json`` lists the float32 tensors in ``weights.bin`` order (name, shape). The
52 convolutions follow our conv modules in forward order (``Conv1``, ``expanded_conv_depthwise|project``,
``block_N_expand|depthwise|project``, ``Conv_1``); kernels are HWIO and depthwise kernels [3, 3, C, 1], so both
transpose to PyTorch's OIHW. BatchNorm is not folded: gamma, beta and the moving statistics load as they are, except
that Keras divides by sqrt(var + 1e-3) and BatchNorm2d by sqrt(var + 1e-5), so the variance carries the difference
(our structure stays torchvision's). Stride-2 convs are TF 'SAME' (``padding="tf_same"``); inputs are ``x/127.5-1``.
There is no ImageNet classifier (``include_top=False``): the file's Dense layers are a Teachable Machine user's
2-class head and are dropped, so this source serves as a backbone for transfer learning only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from mnv2_core import config
from mnv2_core.images.views import Preprocess
from mnv2_core.models.keras_export import KerasImportError, read_tensors

KERAS_FOLDER = "mobilenet_v2_0.35_224_keras_imagenet"
KERAS_WIDTH = 0.35
KERAS_EPS = 1e-3
TORCH_EPS = 1e-5
# Keras's MobileNetV2 was trained on x / 127.5 - 1, i.e. Normalize(mean=0.5, std=0.5) on [0, 1] tensors.
KERAS_PREPROCESS = Preprocess(224, 224 / 256, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
KERAS_SOURCE = ("keras.applications MobileNetV2(alpha=0.35, include_top=False) ImageNet weights, as exported by "
                "Teachable Machine 2.1.1 (GitHub traumverloren/teachable-machine-image-nodejs-starter @ a3897ff, "
                "Apache-2.0)")
KERAS_PUBLISHED_TOP1 = 60.3  # Keras applications' table, alpha 0.35 at 224 px, with the top


def default_folder() -> Path:
    return config.weights_dir() / KERAS_FOLDER


def fits(name: str, width: float | None) -> bool:
    """Whether the Keras export holds weights for this model: the MobileNetV2 0.35 backbone only."""
    return name == "mobilenet_v2" and width == KERAS_WIDTH


def keras_layer_names() -> list[str]:
    """The Keras names of MobileNetV2's 52 convolutions, in forward order."""
    blocks = [f"block_{i}_{part}" for i in range(1, 17) for part in ("expand", "depthwise", "project")]
    return ["Conv1", "expanded_conv_depthwise", "expanded_conv_project", *blocks, "Conv_1"]


def _bn_name(conv: str) -> str:
    return {"Conv1": "bn_Conv1", "Conv_1": "Conv_1_bn"}.get(conv, f"{conv}_BN")


def convert_keras_mobilenet_v2(folder: Path | None = None) -> dict[str, torch.Tensor]:
    """A float32 state_dict of the backbone for ``mobilenet_v2(0.35, padding="tf_same")``: every key but the
    classifier's."""
    from mnv2_core.models.mobilenetv2 import conv_layers, mobilenet_v2

    folder = Path(folder) if folder is not None else default_folder()
    tensors = read_tensors(folder)
    reference = mobilenet_v2(width=KERAS_WIDTH, padding="tf_same")
    ours = reference.state_dict()
    state: dict[str, torch.Tensor] = {}
    for (name, conv, bn_name, _), keras in zip(conv_layers(reference), keras_layer_names(), strict=True):
        kernel = tensors.get(f"{keras}/kernel", tensors.get(f"{keras}/depthwise_kernel"))
        if kernel is None:
            raise KerasImportError(f"The export has no weights for the Keras layer {keras}: not MobileNetV2.")
        # HWIO -> OIHW; a depthwise kernel [H, W, C, 1] -> [C, 1, H, W]
        weight = kernel.transpose(2, 3, 0, 1) if f"{keras}/depthwise_kernel" in tensors else kernel.transpose(3, 2, 0, 1)
        if weight.shape != tuple(conv.weight.shape):
            raise KerasImportError(f"{keras} has shape {kernel.shape}, which does not fit {name} "
                                   f"{tuple(conv.weight.shape)}: not MobileNetV2 0.35.")
        bn = _bn_name(keras)
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(weight))
        state[f"{bn_name}.weight"] = torch.from_numpy(tensors[f"{bn}/gamma"].copy())
        state[f"{bn_name}.bias"] = torch.from_numpy(tensors[f"{bn}/beta"].copy())
        state[f"{bn_name}.running_mean"] = torch.from_numpy(tensors[f"{bn}/moving_mean"].copy())
        state[f"{bn_name}.running_var"] = torch.from_numpy(tensors[f"{bn}/moving_variance"] + (KERAS_EPS - TORCH_EPS))
        state[f"{bn_name}.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    missing = set(ours) - set(state) - {"classifier.1.weight", "classifier.1.bias"}
    if missing:  # a bug here, not a user error: fail loudly
        raise RuntimeError(f"state_dict keys not filled from the Keras export: {sorted(missing)[:5]}")
    return state


def load_keras_mobilenet_v2(folder: Path | None = None, num_classes: int = 1000) -> torch.nn.Module:
    """Our MobileNetV2 0.35 (``padding="tf_same"``, eval mode) with the Keras ImageNet backbone and a zero classifier
    (the export has none): a start for transfer learning, whose phase 1 trains a new head."""
    from mnv2_core.models.mobilenetv2 import mobilenet_v2

    model = mobilenet_v2(width=KERAS_WIDTH, num_classes=num_classes, padding="tf_same")
    state = convert_keras_mobilenet_v2(folder)
    state["classifier.1.weight"] = torch.zeros_like(model.classifier[1].weight)
    state["classifier.1.bias"] = torch.zeros_like(model.classifier[1].bias)
    model.load_state_dict(state, strict=True)
    return model.eval()


def keras_provenance(folder: Path | None = None) -> dict[str, object]:
    """What the weights are and where they came from, for the checkpoint metadata and the UI."""
    folder = Path(folder) if folder is not None else default_folder()
    digest = hashlib.sha256((folder / "weights.bin").read_bytes()).hexdigest()
    return {"weights": "Keras applications MobileNetV2 0.35 ImageNet backbone, imported", "sha256": digest,
            "source": KERAS_SOURCE, "published_top1": KERAS_PUBLISHED_TOP1,
            "classes": "none: a backbone without the ImageNet classifier"}
