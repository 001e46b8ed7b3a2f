"""Import the official TFLite MobileNetV2 1.0/224 (uint8, BN folded) into our float MobileNetV2.

The file is read with the ``tflite`` package, a pure-Python reader of the TFLite flatbuffer schema: it needs only
numpy (any version), and we want constant tensors, not inference. ``tflite-runtime`` would pin numpy<2, and
``ai-edge-litert`` is a whole interpreter that the app never needs at run time (only
``scripts/make_tflite_reference.py`` uses it, in its own venv, to make the test fixture).

Each weight is dequantized as ``(q - zero_point) * scale`` (per tensor or per channel, as the file says); the int32
biases carry their own scale (input scale x weight scale) and zero point 0. BN is folded into the conv weights and
biases, so our BatchNorm layers become identities that only add the folded bias. The 53 CONV_2D/DEPTHWISE_CONV_2D ops
appear in the same order as our conv modules; the last one is the 1x1 logits conv with 1001 outputs, where output 0
is "background" and is dropped to give the 1000 ImageNet classes. TF uses 'SAME' padding, so the model is built with
``padding="tf_same"``; inputs are ``x / 127.5 - 1`` (see :data:`TFLITE_MEAN`, :data:`TFLITE_STD`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from mnv2_core import config
from mnv2_core.files import atomic_torch_save
from mnv2_core.images.views import Preprocess
from mnv2_core.models.tflite_ops import TFLiteImportError, conv_ops

if TYPE_CHECKING:
    from mnv2_core.models.mobilenetv2 import MobileNetV2

__all__ = ["TFLITE_FILE", "TFLITE_MEAN", "TFLITE_STD", "TFLITE_PREPROCESS", "TFLITE_SHA256", "TFLiteImportError",
           "convert_tflite_mobilenet_v2", "load_tflite_mobilenet_v2", "tflite_provenance", "layer_origins"]

TFLITE_FILE = "mobilenet_v2_1.0_224_quant.tflite"
TFLITE_SHA256 = "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776"
# The TF model was trained on x / 127.5 - 1; on [0, 1] tensors that is Normalize(mean=0.5, std=0.5).
TFLITE_MEAN = (0.5, 0.5, 0.5)
TFLITE_STD = (0.5, 0.5, 0.5)
TFLITE_PREPROCESS = Preprocess(224, 224 / 256, TFLITE_MEAN, TFLITE_STD)
BN_EPS = 1e-5  # BatchNorm2d's default; running_var = 1 - eps makes sqrt(var + eps) exactly 1 in float32


def convert_tflite_mobilenet_v2(path: Path) -> dict[str, torch.Tensor]:
    """Read the official TFLite MobileNetV2 1.0/224 and return a float32 state_dict for our model.

    Load it into ``mobilenet_v2(1.0, num_classes=1000, padding="tf_same")`` with ``strict=True``.
    Raises :class:`TFLiteImportError` when the file is missing, unreadable or a different network.
    """
    from mnv2_core.models.mobilenetv2 import conv_layers, mobilenet_v2

    path = Path(path)
    if not path.is_file():
        raise TFLiteImportError(f"The TFLite weights file {path} does not exist.")
    ops = conv_ops(path)
    reference = mobilenet_v2(width=1.0, num_classes=1000, padding="tf_same")
    convs = conv_layers(reference)
    if len(ops) != len(convs) + 1:
        raise TFLiteImportError(f"{path.name} has {len(ops)} conv ops; MobileNetV2 1.0 has {len(convs) + 1}, "
                                "so this is not the MobileNetV2 1.0 model.")
    state: dict[str, torch.Tensor] = {}
    for (name, conv, bn_name, relu6), op in zip(convs, ops[:-1]):
        if op.weight.shape != tuple(conv.weight.shape):
            raise TFLiteImportError(f"{path.name}: weight shape {op.weight.shape} does not fit {name} "
                                    f"{tuple(conv.weight.shape)}; not MobileNetV2 1.0.")
        if op.stride != conv.stride[0] or op.relu6 != relu6 or not op.padding_same:
            raise TFLiteImportError(f"{path.name}: stride, padding or activation of the op for {name} differs "
                                    "from MobileNetV2.")
        channels = op.bias.shape[0]
        state[f"{name}.weight"] = torch.from_numpy(op.weight)
        state[f"{bn_name}.weight"] = torch.ones(channels)
        state[f"{bn_name}.bias"] = torch.from_numpy(op.bias)
        state[f"{bn_name}.running_mean"] = torch.zeros(channels)
        state[f"{bn_name}.running_var"] = torch.full((channels,), 1.0 - BN_EPS)
        state[f"{bn_name}.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    logits = ops[-1]
    if logits.weight.shape != (1001, reference.last_channel, 1, 1) or logits.relu6:
        raise TFLiteImportError(f"{path.name}: the logits layer has shape {logits.weight.shape}; expected a linear "
                                f"1x1 conv to 1001 classes.")
    # Row 0 is TF-slim's "background" class; rows 1..1000 are the ImageNet-1k classes in the usual order.
    state["classifier.1.weight"] = torch.from_numpy(np.ascontiguousarray(logits.weight[1:, :, 0, 0]))
    state["classifier.1.bias"] = torch.from_numpy(np.ascontiguousarray(logits.bias[1:]))
    missing = set(reference.state_dict()) ^ set(state)
    if missing:  # a bug here, not a user error: fail loudly
        raise RuntimeError(f"state_dict keys do not match the model: {sorted(missing)[:5]}")
    return state


def layer_origins(path: Path | None = None) -> list[dict[str, object]]:
    """For each of our conv/linear layers, the TFLite op and weight tensor it was imported from."""
    from mnv2_core.models.mobilenetv2 import conv_layers, mobilenet_v2

    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        raise TFLiteImportError(f"The TFLite weights file {path} does not exist.")
    ops = conv_ops(path)
    names = [name for name, *_ in conv_layers(mobilenet_v2(padding="tf_same"))] + ["classifier.1"]
    return [{"layer": name, "tflite_op": op.op_index, "kind": "depthwise conv" if op.depthwise else "conv",
             "tflite_tensor": op.weight_name.split(";")[0], "shape": " x ".join(map(str, op.weight.shape)),
             "note": "logits; background row 0 dropped" if name == "classifier.1" else "BN folded into weight and bias"}
            for name, op in zip(names, ops)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fits(name: str, width: float | None) -> bool:
    """Whether the official TFLite file holds weights for this model: MobileNetV2 1.0 only."""
    return name == "mobilenet_v2" and width == 1.0


def default_path() -> Path:
    return config.weights_dir() / TFLITE_FILE


def cache_path(path: Path) -> Path:
    """Where the converted state_dict of this exact file is cached (keyed by its content hash)."""
    return config.cache_dir() / f"mobilenet_v2_1.0_tflite_{_sha256(path)[:12]}.pt"


def load_tflite_mobilenet_v2(path: Path | None = None, *, cache: bool = True) -> MobileNetV2:
    """Our MobileNetV2 1.0 (``padding="tf_same"``, eval mode) with the official TFLite ImageNet weights.

    The first call converts the file (about a second) and, with ``cache=True``, saves the float state_dict under
    ``config.cache_dir()``; later calls load that instead. Feed it images normalised with TFLITE_MEAN/TFLITE_STD.
    """
    from mnv2_core.models.mobilenetv2 import mobilenet_v2

    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        raise TFLiteImportError(f"The TFLite weights file {path} does not exist.")
    state: dict[str, torch.Tensor] | None = None
    target = cache_path(path) if cache else None
    if target is not None and target.is_file():
        try:
            state = torch.load(target, map_location="cpu", weights_only=True)
        except Exception:  # a truncated or stale cache file is rebuilt, never fatal
            state = None
    if state is None:
        state = convert_tflite_mobilenet_v2(path)
        if target is not None:
            try:
                atomic_torch_save(state, target)
            except OSError:  # a read-only cache only costs the next call a conversion
                pass
    model = mobilenet_v2(width=1.0, num_classes=1000, padding="tf_same")
    model.load_state_dict(state, strict=True)
    return model.eval()


_KNOWN_FILES = {
    TFLITE_SHA256: "Official TFLite MobileNetV2 1.0/224 (TF1 slim, quantization-aware trained, uint8 per-tensor, "
                   "BN folded), dequantized to float32; ImageNet-1k, published top-1 about 70.8%",
    "5d3137241276e79c86d14a74fe43581398ae0e815191d3dba45495b810840e8c":
        "TF2 MobileNetV2 1.0/224, full-integer post-training quantized (per-channel weights), dequantized to float32",
}
_SOURCE = "google-coral/test_data @ 104342d2d3480b3e66203073dac24f4e2dbb4c41 (Apache-2.0)"


def tflite_provenance(path: Path | None = None) -> dict[str, object]:
    """What the weights are and where they came from, for a "weights from ..." line in the UI."""
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        raise TFLiteImportError(f"The TFLite weights file {path} does not exist.")
    sha = _sha256(path)
    known = sha in _KNOWN_FILES
    return {
        "file": path.name,
        "sha256": sha,
        "size_bytes": path.stat().st_size,
        "official": sha == TFLITE_SHA256,
        "what": _KNOWN_FILES.get(sha, "Unrecognised TFLite file (not one of the known official MobileNetV2 files), "
                                      "dequantized to float32"),
        "source": _SOURCE if known else "unknown",
        "classes": "1000 ImageNet-1k classes (the file's background output 0 is dropped)",
        "normalize": {"mean": TFLITE_MEAN, "std": TFLITE_STD},
    }
