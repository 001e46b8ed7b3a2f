"""Run Keras's own MobileNetV2(alpha=0.35) with the shared export's weights on fixed Oxford-102 test images; write
tests/fixtures/keras_reference.npz.

The fixture lets ``tests/test_models_keras_weights.py`` check our import (mnv2_core.models.keras_weights) against
Keras's forward pass without TensorFlow installed. TensorFlow is a 600 MB wheel the project never needs, so this
script runs in its own venv and imports nothing from mnv2_core but ``config`` (plain paths, no torch)::

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu pillow
    /tmp/tfenv/bin/python scripts/make_keras_reference.py

Keras builds the network itself (``keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=None)``:
its own padding, BatchNorm epsilon and layouts); each layer's weights are set by name from ``weights.bin``.
Preprocessing is make_tflite_reference.centre_crop (torchvision's Resize(256) + CenterCrop(224)), then x/127.5 - 1.

The .npz holds, for N images (every ``--step``-th file of sorted ``test/**/*.jpg``):
  paths        [N] str, relative to the data dir (posix)
  pooled       [N, 1280] float32, the globally average-pooled last feature map
  fmap16       [N, 7, 7, 16] float32, the last feature map's first 16 channels (a spatial check)
  meta         JSON string: weights sha256, TensorFlow/Keras versions, preprocessing, selection rule
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
from make_tflite_reference import centre_crop, select_images  # noqa: E402
from mnv2_core import config  # noqa: E402  (paths only; no torch)

FOLDER = "mobilenet_v2_0.35_224_keras_imagenet"


def read_tensors(folder: Path) -> dict[str, np.ndarray]:
    """mnv2_core.models.keras_export.read_tensors, loaded by path: the package's __init__ would import torch."""
    spec = importlib.util.spec_from_file_location("keras_export", REPO / "mnv2_core" / "models" / "keras_export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.read_tensors(folder)


def keras_model(folder: Path):
    import keras

    tensors = read_tensors(folder)
    model = keras.applications.MobileNetV2(input_shape=(224, 224, 3), alpha=0.35, include_top=False, weights=None)
    for layer in model.layers:
        values = []
        for w in layer.weights:
            key = f"{layer.name}/{w.path.split('/')[-1]}"
            # Keras 3 calls a depthwise kernel "kernel"; the TF.js export kept Keras 2's "depthwise_kernel".
            values.append(tensors[key if key in tensors else key.replace("/kernel", "/depthwise_kernel")])
        if values:
            layer.set_weights(values)
    return model


def main() -> None:
    import keras
    import tensorflow as tf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=config.data_dir())
    parser.add_argument("--weights", type=Path, default=config.weights_dir() / FOLDER)
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "keras_reference.npz")
    parser.add_argument("--step", type=int, default=103, help="keep every step-th sorted test image (103 -> 8)")
    args = parser.parse_args()

    model = keras_model(args.weights)
    paths = select_images(args.data_dir, args.step)
    x = np.stack([centre_crop(args.data_dir / rel).astype(np.float32) / 127.5 - 1 for rel in paths])
    fmap = model.predict(x, verbose=0)
    meta = {"weights_sha256": hashlib.sha256((args.weights / "weights.bin").read_bytes()).hexdigest(),
            "runtime": f"tensorflow {tf.__version__}, keras {keras.__version__}",
            "preprocess": "RGB; shorter side 256 PIL BILINEAR; centre crop 224; x / 127.5 - 1",
            "selection": f"every {args.step}th file of sorted test/*/*.jpg, paths relative to the data dir"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez_compressed(fh, paths=np.array(paths), pooled=fmap.mean((1, 2)).astype(np.float32),
                            fmap16=fmap[..., :16].astype(np.float32), meta=np.array(json.dumps(meta)))
    os.chmod(tmp, 0o644)
    os.replace(tmp, args.out)
    print(f"{len(paths)} images with {meta['runtime']}; wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
