"""Offline INT8 for ONNX Runtime: static QDQ quantization, per-channel weights, activations calibrated on photos.

``python -m mnv2_core quantize`` exports each shipped flower checkpoint to ONNX, calibrates activation ranges on
real training photos (at least 256, round-robin over the classes) with each candidate method (MinMax, Percentile
99.99 and 99.999, Entropy), each also bias-corrected (:mod:`mnv2_core.runtime.int8_bias`), keeps the candidate whose
INT8 model agrees best with FP32 on the *valid* split, then measures the kept model on the *test* split (top-1 of
both, agreement, sizes) and ships it to ``assets/int8`` with that record.
The app loads these files; it never calibrates at start.

Why QDQ with per-channel signed weights in 7 bits (``reduce_range``) and uint8 activations (U8S8-RR): per-channel
weight scales keep MobileNetV2's depthwise layers, whose channels differ in range by orders of magnitude, from
collapsing (Krishnamoorthi 2018, "Quantizing deep convolutional networks for efficient inference", section 3).
Signed weights run the fast u8 x s8 kernels of ONNX Runtime and OpenVINO; on x86 CPUs without VNNI these go through
VPMADDUBSW, whose int16 pair sums saturate with full 8-bit weights, and 7-bit weights cannot saturate (ONNX
Runtime's quantization docs name the same cause and remedy). Measured on 205 valid photos with the 1.0 on a Zen3
without VNNI (2 threads): U8S8 ran 6.5 ms (ORT) / 5.7 ms (OpenVINO) but agreed with FP32 on 95.2%; U8U8 agreed on
99.6% but ran 9.0 / 9.5 ms, slower than OpenVINO FP32 (8.2 ms); U8S8-RR agreed on 98.2% at 6.1 / 5.5 ms.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnv2_core.files import atomic_write
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.accuracy import agreement, top1
from mnv2_core.runtime.int8_bias import bias_correct, input_means

METHODS: tuple[str, ...] = ("minmax", "percentile-99.99", "percentile-99.999", "entropy")
METHOD_TITLES = {"minmax": "MinMax (observed range)", "percentile-99.99": "Percentile 99.99 (histogram)",
                 "percentile-99.999": "Percentile 99.999 (histogram)",
                 "entropy": "Entropy (KL divergence, TensorRT-style)"}
MIN_CALIBRATION = 256
TARGET_AGREEMENT = 0.97  # top-1 agreement with FP32 that a shipped INT8 model should reach (issue 11)
# The INT8 formats quantize_qdq writes: (weight type, 7-bit weights). FORMAT is the fast one, the first choice;
# FALLBACK_FORMAT is slower here (no faster than FP32 on CPUs without VNNI) but more faithful at narrow widths.
FORMATS = {"u8s8-rr": ("s8", True), "u8s8": ("s8", False), "u8u8": ("u8", False)}
FORMAT = "u8s8-rr"
FALLBACK_FORMAT = "u8u8"
FORMAT_TITLES = {"u8s8-rr": "ONNX QDQ; per-channel symmetric int8 weights in 7 bits (reduce_range), asymmetric "
                            "uint8 activations (U8S8-RR)",
                 "u8s8": "ONNX QDQ; per-channel symmetric int8 weights, asymmetric uint8 activations (U8S8)",
                 "u8u8": "ONNX QDQ; per-channel asymmetric uint8 weights and activations (U8U8)"}


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over preprocessed arrays, one image per call."""

    def __init__(self, input_name: str, arrays: Sequence[np.ndarray]) -> None:
        self.input_name, self.arrays, self.i = input_name, arrays, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.arrays):
            return None
        self.i += 1
        return {self.input_name: self.arrays[self.i - 1]}

    def rewind(self) -> None:
        self.i = 0




def quantize_qdq(fp32_model: Path, target: Path, arrays: Sequence[np.ndarray], method: str = "minmax",
                 form: str = FORMAT) -> Path:
    """Write a static QDQ INT8 model (per-channel weights, u8 activations; ``form`` in FORMATS) calibrated on
    ``arrays``."""
    import contextlib
    import io

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in METHODS:
        raise ValueError(f"Unknown calibration method {method!r}; choose one of {', '.join(METHODS)}.")
    weight_type, reduce_range = FORMATS[form]
    family, _, percentile = method.partition("-")
    calibrate = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                 "entropy": CalibrationMethod.Entropy}[family]
    extra: dict[str, object] = {"ActivationSymmetric": False, "WeightSymmetric": weight_type == "s8"}
    if family == "percentile":
        extra["CalibPercentile"] = float(percentile)
    with tempfile.TemporaryDirectory() as tmp:
        prepared, out = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(fp32_model), str(prepared), skip_symbolic_shape=True)
        import onnx

        input_name = onnx.load(str(prepared)).graph.input[0].name
        with contextlib.redirect_stdout(io.StringIO()):  # the calibrators print their progress
            quantize_static(str(prepared), str(out), _Reader(input_name, arrays), quant_format=QuantFormat.QDQ,
                            per_channel=True, reduce_range=reduce_range, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8 if weight_type == "s8" else QuantType.QUInt8,
                            calibrate_method=calibrate, extra_options=extra)
        data = out.read_bytes()
    atomic_write(target, lambda fh: fh.write(data))
    return target


def split_logits(runners: dict, samples: Sequence[tuple[Path, int]], preprocess: Preprocess, *,
                 desc: str = "score") -> dict[str, np.ndarray]:
    """Logits of every runner on every sample (each image decoded once, prepared as the app prepares an upload)."""
    from mnv2_core.images.decode import load_path
    from mnv2_core.progress import track

    out: dict[str, list[np.ndarray]] = {k: [] for k in runners}
    for path, _ in track(samples, desc):
        x = preprocess.tensor(load_path(path).image)
        for key, runner in runners.items():
            out[key].append(runner(x).float().numpy()[0])
    return {k: np.stack(v) for k, v in out.items()}


def make_shipped_int8(name: str, width: float | None, *, methods: Sequence[str] = METHODS,
                      calibration: int = MIN_CALIBRATION, data: str | Path | None = None, threads: int | None = None,
                      command: str = "", log=print) -> dict:
    """Calibrate, select (valid agreement), measure (test) and ship the INT8 ONNX model of one flower checkpoint."""
    import json
    import platform
    import time
    from datetime import datetime, timezone

    import onnxruntime

    from mnv2_core.files import atomic_write_json
    from mnv2_core.images.flowers import split_samples
    from mnv2_core.measure.machine import this_cpu
    from mnv2_core.models.weights import checkpoint_path, load_checkpoint_file
    from mnv2_core.runtime import engines
    from mnv2_core.runtime.calibration import calibration_arrays, calibration_paths

    if calibration < MIN_CALIBRATION:
        raise ValueError(f"Calibrate on at least {MIN_CALIBRATION} images (got {calibration}).")
    started = time.perf_counter()
    ckpt = checkpoint_path(name, width, "flowers")
    loaded = load_checkpoint_file(ckpt, name, width, "flowers")
    preprocess = loaded.info.preprocess
    float_sha = engines.state_sha(loaded.model)
    fp32_path = engines.onnx_for(loaded.model, preprocess.resolution, ckpt.stem)
    fp32 = engines.make_runner("onnxruntime", fp32_path, "fp32", threads)
    paths = calibration_paths(calibration)
    log(f"{ckpt.name}: calibrating on {len(paths)} training photos with {', '.join(methods)}")
    arrays = calibration_arrays(paths, preprocess)
    valid, test = split_samples(data, "valid"), split_samples(data, "test")
    target = engines.int8_path(name, width, "flowers")
    means = input_means(fp32_path, arrays)  # for bias correction (int8_bias), once per model
    with tempfile.TemporaryDirectory() as tmp:
        # The fast format first; the fallback only where no method brings the fast one to the target on valid.
        # Every method is tried as quantized and bias-corrected ("+bc").
        valid_agree: dict[str, float] = {}
        for form in (FORMAT, FALLBACK_FORMAT):
            candidates = {}
            for m in methods:
                plain = quantize_qdq(fp32_path, Path(tmp) / f"{form}_{m}.onnx", arrays, m, form)
                corrected = Path(tmp) / f"{form}_{m}+bc.onnx"
                bias_correct(plain, fp32_path, means, corrected)
                candidates |= {f"{form}/{m}": plain, f"{form}/{m}+bc": corrected}
            runners = {"fp32": fp32, **{k: engines.make_runner("onnxruntime", p, "int8", threads)
                                        for k, p in candidates.items()}}
            valid_logits = split_logits(runners, valid, preprocess, desc=f"valid {form}")
            valid_agree |= {k: agreement(valid_logits["fp32"], valid_logits[k]) for k in candidates}
            log("valid agreement: " + ", ".join(f"{k} {valid_agree[k]:.2%}" for k in candidates))
            best = max(valid_agree, key=lambda k: (valid_agree[k], k.startswith(FORMAT)))
            if best.startswith(FORMAT) and valid_agree[best] >= TARGET_AGREEMENT:
                break
            if form == FORMAT:
                fast_best = best
        chosen_form, chosen = best.split("/")
        best_method, corrected_bias = chosen.removesuffix("+bc"), chosen.endswith("+bc")
        log(f"-> {best}" + ("" if chosen_form == FORMAT else f" (the fast format's best, {fast_best}, agreed on only "
                                                             f"{valid_agree[fast_best]:.2%})"))
        data_bytes = Path(tmp, f"{chosen_form}_{chosen}.onnx").read_bytes()
    atomic_write(target, lambda fh: fh.write(data_bytes))
    int8 = {e: engines.make_runner(e, target, "int8", threads) for e in engines.available_engines() if e != "torch"}
    test_logits = split_logits({"fp32": fp32, **int8}, test, preprocess, desc="test")
    labels = [y for _, y in test]
    by_engine = {e: {"int8_top1": top1(test_logits[e], labels), "agreement": agreement(test_logits["fp32"],
                                                                                       test_logits[e])}
                 for e in int8}
    record = {
        "model": name, "width": width, "checkpoint": ckpt.name, "float_sha256": float_sha, "file": target.name,
        "format": FORMAT_TITLES[chosen_form], "format_key": chosen_form,
        "calibration": {"method": best_method, "method_title": METHOD_TITLES[best_method] + (
                            " + bias correction" if corrected_bias else ""), "bias_correction": corrected_bias,
                        "images": len(paths),
                        "from": "training split, round-robin over classes", "selected_on": "valid top-1 agreement",
                        "valid_agreement": valid_agree},
        # the headline figures are the worse engine's: the app may run either
        "test": {"images": len(test), "fp32_top1": top1(test_logits["fp32"], labels),
                 "int8_top1": min(r["int8_top1"] for r in by_engine.values()),
                 "agreement": min(r["agreement"] for r in by_engine.values()), "by_engine": by_engine},
        "size_bytes": {"fp32_onnx": fp32_path.stat().st_size, "int8_onnx": target.stat().st_size},
        "provenance": {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
                       "onnxruntime": onnxruntime.__version__, "machine": platform.machine(),
                       "cpu": this_cpu().title,
                       "seconds": round(time.perf_counter() - started, 1)},
    }
    record["test"]["drop_points"] = 100 * (record["test"]["fp32_top1"] - record["test"]["int8_top1"])
    atomic_write_json(record, target.with_suffix(".json"))
    t = record["test"]
    log(f"test: FP32 {t['fp32_top1']:.2%}  INT8 {t['int8_top1']:.2%}  agreement {t['agreement']:.2%}  "
        f"size {record['size_bytes']['fp32_onnx'] / 1e6:.1f} -> {record['size_bytes']['int8_onnx'] / 1e6:.1f} MB")
    return json.loads(json.dumps(record))
