"""Static QDQ INT8 for ONNX Runtime and OpenVINO: per-channel weights, activation ranges calibrated on photos, in
the formats and with the calibration methods the quantize job (:mod:`mnv2_core.jobs.quantize`) chooses among.

Why QDQ with per-channel signed weights in 7 bits (``reduce_range``) and uint8 activations (U8S8-RR): per-channel
weight scales keep MobileNetV2's depthwise layers, whose channels differ in range by orders of magnitude, from
collapsing (Krishnamoorthi 2018, "Quantizing deep convolutional networks for efficient inference", section 3).
Signed weights run the fast u8 x s8 kernels of ONNX Runtime and OpenVINO; on x86 CPUs without VNNI these go through
VPMADDUBSW, whose int16 pair sums saturate with full 8-bit weights, and 7-bit weights cannot saturate (ONNX
Runtime's quantization docs name the same cause and remedy). U8U8 is slower there but more faithful at narrow
widths; the README gives the speeds and agreements measured for each format.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnv2_core.files import atomic_write

METHODS: tuple[str, ...] = ("minmax", "percentile-99.99", "percentile-99.999", "entropy")
METHOD_TITLES = {"minmax": "MinMax (observed range)", "percentile-99.99": "Percentile 99.99 (histogram)",
                 "percentile-99.999": "Percentile 99.999 (histogram)",
                 "entropy": "Entropy (KL divergence, TensorRT-style)"}
MIN_CALIBRATION = 256
TARGET_AGREEMENT = 0.97  # top-1 agreement with FP32 that a shipped INT8 model should reach (issue 11)
# The INT8 formats quantize_qdq writes: (weight type, 7-bit weights). FORMAT is the fast one, the first choice;
# FALLBACK_FORMAT is slower here (no faster than FP32 on CPUs without VNNI) but more faithful at narrow widths.
FORMATS = {"u8s8-rr": ("s8", True), "u8s8": ("s8", False), "u8u8": ("u8", False)}
# Which operators get Q/DQ pairs: every one ONNX Runtime can quantize, or only the layers with weights (convolutions
# and matrix products). "weighted" keeps element-wise gates in float, e.g. EfficientNet's squeeze-and-excitation
# (Sigmoid, Mul) and SiLU, whose int8 round trips cost agreement and time without saving any weight bytes.
SCOPES: dict[str, tuple[str, ...] | None] = {"all": None, "weighted": ("Conv", "Gemm", "MatMul")}
SCOPE_TITLES = {"all": "every operator quantized",
                "weighted": "only convolutions and matrix products quantized (element-wise ops in float)"}
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
                 form: str = FORMAT, scope: str = "all") -> Path:
    """Write a static QDQ INT8 model (per-channel weights, u8 activations; ``form`` in FORMATS, the operators of
    ``scope`` in SCOPES) calibrated on ``arrays``."""
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
                            calibrate_method=calibrate, extra_options=extra,
                            op_types_to_quantize=list(SCOPES[scope]) if SCOPES[scope] else None)
        data = out.read_bytes()
    atomic_write(target, lambda fh: fh.write(data))
    return target
