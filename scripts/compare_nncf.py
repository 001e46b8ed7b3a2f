"""NNCF's post-training quantization against this project's own (runtime/int8_onnx calibration + runtime/int8_bias
bias correction) on one shipped flower checkpoint: top-1 agreement with FP32 on the valid split, on ONNX Runtime and
OpenVINO, from the same 256 calibration photos.

NNCF (pip ``nncf``) is not a dependency of the project: run this in a venv that has it beside the project's
packages, e.g.::

    python3 -m venv --system-site-packages /tmp/nncfenv && /tmp/nncfenv/bin/pip install nncf
    /tmp/nncfenv/bin/python scripts/compare_nncf.py 0.35 /tmp/nncf_0.35.json

The README quotes its results.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mnv2_core.images.flowers import split_samples  # noqa: E402
from mnv2_core.jobs.quantize import runner_logits  # noqa: E402
from mnv2_core.measure.accuracy import agreement, top1  # noqa: E402
from mnv2_core.models.weights import checkpoint_path, load_checkpoint_file  # noqa: E402
from mnv2_core.runtime import engines  # noqa: E402
from mnv2_core.runtime.calibration import calibration_arrays, calibration_paths  # noqa: E402
from mnv2_core.runtime.int8_bias import bias_correct, input_means  # noqa: E402
from mnv2_core.runtime.int8_onnx import quantize_qdq  # noqa: E402


def project_candidates(fp32_path: Path, arrays, folder: Path) -> dict[str, tuple[Path, float]]:
    """The quantize job's MinMax + bias-corrected candidates in both formats, with the seconds each took."""
    out = {}
    for form in ("u8s8-rr", "u8u8"):
        started = time.perf_counter()
        plain = quantize_qdq(fp32_path, folder / f"{form}.onnx", arrays, "minmax", form)
        bias_correct(plain, fp32_path, input_means(fp32_path, arrays), folder / f"{form}_bc.onnx")
        out[f"project {form} minmax+bc"] = folder / f"{form}_bc.onnx", time.perf_counter() - started
    return out


def nncf_candidates(fp32_path: Path, arrays, folder: Path) -> dict[str, tuple[Path, float]]:
    """NNCF's defaults (fast bias correction), its full bias correction, and its mixed preset."""
    import nncf
    import onnx

    model = onnx.load(str(fp32_path))
    name = model.graph.input[0].name
    dataset = nncf.Dataset(arrays, lambda x: {name: x})
    out = {}
    for label, options in (("nncf default (fast bias correction)", {}),
                           ("nncf full bias correction", {"fast_bias_correction": False}),
                           ("nncf mixed preset", {"preset": nncf.QuantizationPreset.MIXED})):
        started = time.perf_counter()
        quantized = nncf.quantize(model, dataset, subset_size=len(arrays), **options)
        target = folder / f"{len(out)}.onnx"
        onnx.save(quantized, str(target))
        out[label] = target, time.perf_counter() - started
    return out


def main(width: float, out: Path) -> None:
    import nncf

    ckpt = checkpoint_path("mobilenet_v2", width)
    loaded = load_checkpoint_file(ckpt)
    preprocess = loaded.info.preprocess
    fp32_path = engines.onnx_for(loaded.model, preprocess.resolution, ckpt.stem)
    arrays = calibration_arrays(calibration_paths(256), preprocess)
    valid = split_samples(None, "valid")
    with tempfile.TemporaryDirectory() as tmp:
        candidates = project_candidates(fp32_path, arrays, Path(tmp)) | nncf_candidates(fp32_path, arrays, Path(tmp))
        runners = {"fp32": engines.make_runner("onnxruntime", fp32_path, "fp32", 2)}
        runners |= {f"{key} | {engine}": engines.make_runner(engine, path, "int8", 2)
                    for key, (path, _) in candidates.items() for engine in ("onnxruntime", "openvino")}
        logits = runner_logits(runners, valid, preprocess, desc="valid")
    labels = [y for _, y in valid]
    rows = {k: {"agreement": agreement(logits["fp32"], v), "top1": top1(v, labels)}
            for k, v in logits.items() if k != "fp32"}
    out.write_text(json.dumps({"width": width, "checkpoint": ckpt.name, "fp32_valid_top1": top1(logits["fp32"], labels),
                               "rows": rows, "seconds": {k: s for k, (_, s) in candidates.items()},
                               "calibration_images": len(arrays), "nncf": nncf.__version__}, indent=1))
    for key, row in rows.items():
        print(f"{key:60s} agreement {row['agreement']:.2%}  top-1 {row['top1']:.2%}")


if __name__ == "__main__":
    main(float(sys.argv[1]), Path(sys.argv[2]))
