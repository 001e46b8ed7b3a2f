"""Reading a TF.js layers-model export (``model.json`` + ``weights.bin``) with numpy alone: every float32 tensor by
its Keras name. Free of torch, so that scripts/make_keras_reference.py can use it in a TensorFlow environment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class KerasImportError(ValueError):
    """The Keras export is missing, unreadable, or not the MobileNetV2 0.35 this importer knows."""


def read_tensors(folder: Path) -> dict[str, np.ndarray]:
    """Every tensor of the export by its Keras name ("Conv1/kernel", "bn_Conv1/moving_variance", ...)."""
    folder = Path(folder)
    manifest_file, blob_file = folder / "model.json", folder / "weights.bin"
    if not manifest_file.is_file() or not blob_file.is_file():
        raise KerasImportError(f"The Keras MobileNetV2 0.35 export is not in {folder} (model.json and weights.bin).")
    try:
        entries = [e for group in json.loads(manifest_file.read_text())["weightsManifest"] for e in group["weights"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise KerasImportError(f"{manifest_file} is not a TF.js layers-model manifest.") from exc
    blob = np.fromfile(blob_file, dtype="<f4")
    if any(e.get("dtype") != "float32" for e in entries) or sum(int(np.prod(e["shape"])) for e in entries) != blob.size:
        raise KerasImportError(f"{blob_file.name} does not hold the float32 tensors {manifest_file.name} lists.")
    tensors, offset = {}, 0
    for e in entries:
        size = int(np.prod(e["shape"]))
        tensors[e["name"]] = blob[offset:offset + size].reshape(e["shape"])
        offset += size
    return tensors
