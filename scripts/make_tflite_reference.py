"""Run the OFFICIAL TFLite interpreter on fixed Oxford-102 test images; write tests/fixtures/tflite_reference.npz.

The fixture lets ``tests/test_models_tflite.py`` check our float import of the same file against Google's own
uint8 inference, without the interpreter installed. The interpreter needs numpy<2 (tflite-runtime) or a large
wheel (ai-edge-litert), so this script runs in its own venv and imports nothing from mnv2_core but ``config``
(plain paths, no torch)::

    python3 -m venv /tmp/tflvenv && /tmp/tflvenv/bin/pip install ai-edge-litert pillow numpy
    /tmp/tflvenv/bin/python scripts/make_tflite_reference.py

Preprocessing is plain PIL + numpy and must stay identical to mnv2_core.images.decode's centre crop (torchvision's
``Resize(256)`` + ``CenterCrop(224)`` on PIL images): RGB, shorter side to 256 with BILINEAR (long side
``int(256 * long / short)``), centre crop 224 (offset ``round((size - 224) / 2)``), then uint8 HWC straight into the
model, whose input quantization (scale 1/128, zero point 128) is the float model's ``x / 127.5 - 1`` up to rounding.

The .npz holds, for N images (every ``--step``-th file of sorted ``test/**/*.jpg``):
  paths        [N] str, relative to the data dir (posix)
  softmax_u8   [N, 1001] uint8, the model's output (index 0 = background, 1..1000 = ImageNet classes)
  logits_u8    [N, 1001] uint8, the quantized logits feeding that softmax (same indexing; finer ranking than the
               softmax, which saturates to 0 for most classes)
  softmax_scale, softmax_zero_point, logits_scale, logits_zero_point: their quantization parameters
  meta         JSON string: model file and sha256, interpreter, preprocessing, selection rule
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from mnv2_core import config  # noqa: E402  (paths only; no torch)

RESIZE, CROP = 256, 224
LOGITS_TENSOR = "MobilenetV2/Logits/Squeeze1"


def load_interpreter(model_path: Path):
    """ai-edge-litert if present, else tflite-runtime; all tensors kept so the logits can be read."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        name = "ai-edge-litert"
    except ImportError:
        from tflite_runtime.interpreter import Interpreter
        name = "tflite-runtime"
    from importlib.metadata import version

    interpreter = Interpreter(str(model_path), num_threads=2, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    return interpreter, f"{name} {version(name)}"


def centre_crop(path: Path) -> np.ndarray:
    """Decode, shorter side to 256 (BILINEAR), centre crop 224: uint8 [224, 224, 3] RGB."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        w, h = img.size
        if w <= h:
            size = (RESIZE, int(RESIZE * h / w))
        else:
            size = (int(RESIZE * w / h), RESIZE)
        if size != (w, h):
            img = img.resize(size, Image.BILINEAR)
        w, h = img.size
        left, top = int(round((w - CROP) / 2.0)), int(round((h - CROP) / 2.0))
        return np.asarray(img.crop((left, top, left + CROP, top + CROP)), dtype=np.uint8)


def select_images(data_dir: Path, step: int) -> list[str]:
    files = sorted(p.relative_to(data_dir).as_posix() for p in (data_dir / "test").glob("*/*.jpg"))
    return files[::step]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=config.data_dir())
    parser.add_argument("--tflite", type=Path, default=config.weights_dir() / "mobilenet_v2_1.0_224_quant.tflite")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "tflite_reference.npz")
    parser.add_argument("--step", type=int, default=6, help="keep every step-th sorted test image (6 -> 137)")
    args = parser.parse_args()

    interpreter, runtime = load_interpreter(args.tflite)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    logits = next(d for d in interpreter.get_tensor_details() if d["name"] == LOGITS_TENSOR)
    if tuple(inp["quantization"]) != (1 / 128, 128):
        raise SystemExit(f"unexpected input quantization {inp['quantization']}")

    paths = select_images(args.data_dir, args.step)
    softmax = np.zeros((len(paths), 1001), np.uint8)
    logit_rows = np.zeros((len(paths), 1001), np.uint8)
    for i, rel in enumerate(paths):
        interpreter.set_tensor(inp["index"], centre_crop(args.data_dir / rel)[None])
        interpreter.invoke()
        softmax[i] = interpreter.get_tensor(out["index"])[0]
        logit_rows[i] = interpreter.get_tensor(logits["index"]).reshape(-1)

    meta = {
        "model_file": args.tflite.name,
        "model_sha256": hashlib.sha256(args.tflite.read_bytes()).hexdigest(),
        "interpreter": runtime,
        "preprocess": "RGB; shorter side 256 PIL BILINEAR; centre crop 224; uint8 input (scale 1/128, zp 128)",
        "selection": f"every {args.step}th file of sorted test/*/*.jpg, paths relative to the data dir",
        "indexing": "1001 outputs, index 0 = background, index k = ImageNet class k-1",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez_compressed(
            fh, paths=np.array(paths), softmax_u8=softmax, logits_u8=logit_rows,
            softmax_scale=np.float32(out["quantization"][0]), softmax_zero_point=np.int32(out["quantization"][1]),
            logits_scale=np.float32(logits["quantization"][0]), logits_zero_point=np.int32(logits["quantization"][1]),
            meta=np.array(json.dumps(meta)))
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the fixture is an ordinary repo file
    os.replace(tmp, args.out)
    top1 = logit_rows.argmax(1)
    print(f"{len(paths)} images with {runtime}; wrote {args.out} ({args.out.stat().st_size} bytes); "
          f"top-1 daisy (986 in 1001-space) on {(top1 == 986).sum()} images")


if __name__ == "__main__":
    main()
