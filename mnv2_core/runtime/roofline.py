"""The roofline of this CPU (Williams, Waterman, Patterson 2009): how fast it can multiply and how fast it can move
bytes, measured here, and every convolution of a model placed against those two limits with its own measured time.

- Peak compute per precision: a large matrix multiply through oneDNN (FP32, BF16, INT8 with int32 sums) on every
  thread, the best of several runs. It is the attainable peak of this machine's math kernels, not the data sheet's.
- Memory bandwidth: a copy far larger than the caches, counting the bytes read and written.
- Each layer: MACs and the bytes it must move at least (input, weights and output once, at the precision's element
  size) from the shapes OpenVINO reads, and its time from OpenVINO's per-layer performance counters (median of
  several runs). A layer's bound is max(MACs / peak, bytes / bandwidth): below the ridge point (peak / bandwidth
  MACs per byte) memory decides, above it arithmetic does.
"""

from __future__ import annotations

import functools
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch

ELEMENT_BYTES = {"fp32": 4, "bf16": 2, "int8": 1}
KINDS = ("depthwise", "pointwise (1x1)", "full convolution", "fully connected")
WEIGHTED_OPS = ("Convolution", "GroupConvolution", "MatMul")


@dataclass(frozen=True)
class Peaks:
    """What this CPU attains: GMAC/s per precision (matrix multiply) and GB/s (copy), with the threads used."""

    cpu: str
    threads: int
    gmacs: dict[str, float]
    bandwidth_gbs: float

    def ridge(self, precision: str) -> float:
        """MACs per byte above which a layer at this precision can be compute-bound."""
        return self.gmacs[precision] / self.bandwidth_gbs

    def bound_s(self, macs: int, moved: int, precision: str) -> float:
        return max(macs / (self.gmacs[precision] * 1e9), moved / (self.bandwidth_gbs * 1e9))

    def layer_bound_s(self, layer: Layer) -> float:
        """A layer's bound at the precision its kernel computes in (an INT8 file's layer may run FP32 kernels)."""
        return self.bound_s(layer.macs, layer.moved, layer.kernel_precision if layer.kernel_precision in self.gmacs
                            else "fp32")


def _best_seconds(call, seconds: float, min_runs: int = 3) -> float:
    call()  # first call: kernel choice and allocation, not timed
    best, runs, start = float("inf"), 0, time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        call()
        best, runs = min(best, time.perf_counter() - t), runs + 1
    return best


def peak_gmacs(precision: str, size: int = 1024, seconds: float = 0.5) -> float:
    """Multiply-accumulates per second of a large matrix product through oneDNN, the library the engines' own
    convolutions use, best run, in GMAC/s: FP32 and BF16 as a 1x1 convolution of ``size`` channels over 64 x 64
    pixels (channels-last), INT8 as a 2 ``size`` square int8 product with int32 sums (VNNI/AMX kernels). (A plain
    FP32 ``torch.mm`` goes to MKL, which reached only half of this on the AMD CPUs here.)"""
    if precision == "int8":
        a = torch.randint(-64, 64, (2 * size, 2 * size), dtype=torch.int8)
        b = torch.randint(-64, 64, (2 * size, 2 * size), dtype=torch.int8)
        return (2 * size) ** 3 / _best_seconds(lambda: torch._int_mm(a, b), seconds) / 1e9
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    x = torch.randn(1, size, 64, 64).to(dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(size, size, 1, 1).to(dtype)
    with torch.inference_mode():
        return size * size * 64 * 64 / _best_seconds(lambda: torch.nn.functional.conv2d(x, w), seconds) / 1e9


def bandwidth_gbs(megabytes: int = 256, seconds: float = 0.5) -> float:
    """Bytes read plus bytes written per second by a copy of ``megabytes`` (far beyond the caches), in GB/s."""
    src = torch.ones(megabytes * 2 ** 20 // 4)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / _best_seconds(lambda: dst.copy_(src), seconds) / 1e9


def measure_peaks(precisions: tuple[str, ...], *, size: int = 1024, seconds: float = 0.5,
                  rounds: int = 2) -> Peaks:
    """The best of ``rounds`` interleaved rounds: a burst of other work (a browser drawing the page, another
    session) during one precision's turn would otherwise lower its peak alone."""
    from mnv2_core.measure.machine import this_cpu

    gmacs, bandwidth = dict.fromkeys(precisions, 0.0), 0.0
    for _ in range(rounds):
        for p in precisions:
            gmacs[p] = max(gmacs[p], peak_gmacs(p, size, seconds))
        bandwidth = max(bandwidth, bandwidth_gbs(seconds=seconds))
    return Peaks(this_cpu().title, torch.get_num_threads(), gmacs, bandwidth)


@dataclass(frozen=True)
class Layer:
    """One convolution or matrix product of a model, as OpenVINO ran it."""

    name: str
    kind: str  # one of KINDS
    macs: int
    moved: int  # bytes: input, weights and output once, at the precision's element size
    ms: float  # OpenVINO's per-layer counter, median over the runs (its fused bias and activation included)
    exec_type: str = ""  # the kernel OpenVINO picked, e.g. brgconv_avx512_dw_I8

    @property
    def kernel_precision(self) -> str:
        """The precision the kernel computes in, read from its name: an INT8 file's layer can still run in FP32
        (OpenVINO dequantizes what its int8 kernels do not take, e.g. unsigned weights)."""
        name = self.exec_type.lower()
        return "int8" if ("i8" in name or "u8" in name) else "bf16" if "bf16" in name else "fp32"

    @property
    def intensity(self) -> float:
        """MACs per byte moved."""
        return self.macs / self.moved

    @property
    def gmacs(self) -> float:
        return self.macs / (self.ms * 1e6)


@dataclass(frozen=True)
class Profile:
    """A model at one precision on OpenVINO: its weighted layers, and the time of every other kind of op."""

    title: str
    precision: str
    layers: list[Layer]
    other_ms: dict[str, float] = field(default_factory=dict)  # OpenVINO node type -> ms (quantize, eltwise, ...)

    @property
    def total_ms(self) -> float:
        return sum(layer.ms for layer in self.layers) + sum(self.other_ms.values())

    def bound_ms(self, peaks: Peaks) -> float:
        """The weighted layers' roofline bound, summed: no engine can run them faster on this machine."""
        return 1000 * sum(peaks.layer_bound_s(layer) for layer in self.layers)

    def by_kind(self) -> dict[str, list[Layer]]:
        groups: dict[str, list[Layer]] = {k: [] for k in KINDS}
        for layer in self.layers:
            groups[layer.kind].append(layer)
        return {k: v for k, v in groups.items() if v}


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _kind(op_type: str, weights: list[int]) -> str:
    if op_type == "MatMul":
        return "fully connected"
    if op_type == "GroupConvolution" and weights[0] > 1 and weights[1] == 1 and weights[2] == 1:
        return "depthwise"  # OpenVINO's group weights: [groups, out/groups, in/groups, kh, kw]
    return "pointwise (1x1)" if _numel(weights[-2:]) == 1 else "full convolution"


def layer_shapes(path: Path, precision: str) -> dict[str, tuple[str, int, int]]:
    """name -> (kind, MACs, bytes moved) of every convolution and matrix product in the ONNX file at ``path``."""
    from mnv2_core.runtime.engines import EngineError, openvino_available, openvino_core

    if not openvino_available():
        raise EngineError("The roofline reads OpenVINO's per-layer counters, and OpenVINO is not installed here "
                          "(pip install openvino).")
    size = ELEMENT_BYTES[precision]
    found = {}
    try:
        model = openvino_core().read_model(str(path))
    except Exception as exc:  # a truncated or foreign file
        raise EngineError(f"OpenVINO could not read {Path(path).name} ({type(exc).__name__}).") from exc
    for op in model.get_ordered_ops():
        if op.get_type_name() not in WEIGHTED_OPS:
            continue
        x, w, y = (list(op.input(0).get_shape()), list(op.input(1).get_shape()), list(op.output(0).get_shape()))
        if op.get_type_name() == "MatMul":
            macs = _numel(y) * x[-1]
        else:  # every output element sums (input channels per group) x kernel products
            macs = _numel(y) * _numel(w[2:] if op.get_type_name() == "GroupConvolution" else w[1:])
        found[op.get_friendly_name()] = (_kind(op.get_type_name(), w), macs, size * (_numel(x) + _numel(w) + _numel(y)))
    return found


def profile(path: Path, precision: str, title: str, *, runs: int = 20, threads: int | None = None) -> Profile:
    """Run the ONNX file at ``path`` ``runs`` times on OpenVINO at ``precision`` with per-layer counters on."""
    import numpy as np

    from mnv2_core.runtime.engines import openvino_compile

    shapes = layer_shapes(path, precision)
    compiled = openvino_compile(path, precision, threads, {"PERF_COUNT": True})
    request = compiled.create_infer_request()
    x = np.zeros(list(compiled.inputs[0].get_shape()), dtype=np.float32)
    times: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for _ in range(3):
        request.infer({0: x})
    for _ in range(runs):
        request.infer({0: x})
        for info in request.profiling_info:
            if info.status.name == "EXECUTED":
                times[(info.node_name, info.node_type, info.exec_type)].append(info.real_time.total_seconds() * 1e3)
    layers, other = [], defaultdict(float)
    # OpenVINO renames a fused fully connected layer (the classifier's takes the output's name, "logits"): those
    # are matched to the file's matrix products in execution order.
    executed = {name for name, _, _ in times}
    unmatched = [n for n, (kind, _, _) in shapes.items() if kind == "fully connected" and n not in executed]
    for (name, node_type, exec_type), ms in times.items():
        median = statistics.median(ms)
        if name not in shapes and node_type.startswith("FullyConnected") and unmatched:
            name = unmatched.pop(0)
        if name in shapes:
            kind, macs, moved = shapes[name]
            layers.append(Layer(name, kind, macs, moved, median, exec_type))
        else:
            other[node_type] += median
    if len(layers) < len(shapes):  # another OpenVINO may name fused layers otherwise: no half-right figures
        from mnv2_core.runtime.engines import EngineError

        raise EngineError(f"OpenVINO's counters named only {len(layers)} of the {len(shapes)} convolutions and "
                          f"matrix products in {title}, so its roofline would be wrong.")
    return Profile(title, precision, layers, dict(other))


@dataclass(frozen=True)
class Roofline:
    """This CPU's limits, and one model's layers at each precision against them."""

    peaks: Peaks
    profiles: list[Profile]


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _peaks(precisions: tuple[str, ...], size: int, seconds: float) -> Peaks:
    return measure_peaks(precisions, size=size, seconds=seconds)


@functools.lru_cache(maxsize=16)
def _profile(model: str, width: float | None, precision: str, runs: int) -> Profile | None:
    from mnv2_core.models.model_config import config_title
    from mnv2_core.models.weights import load_model
    from mnv2_core.runtime import engines, int8_files

    loaded = load_model(model, width, "flowers")
    if precision == "int8":
        path = int8_files.shipped_int8(loaded.name, loaded.width, "flowers", engines.state_sha(loaded.model))
        if path is None:
            return None
    else:
        path = engines.onnx_for(loaded.model, loaded.resolution, f"{loaded.name}_{loaded.width}_flowers")
    return profile(path, precision, config_title(loaded.name, loaded.width, precision, "openvino"), runs=runs)


def measure_roofline(model: str = "mobilenet_v2", width: float | None = 1.0, precisions: tuple[str, ...] | None = None,
                     *, runs: int = 20, size: int = 1024, seconds: float = 0.5) -> Roofline:
    """The peaks of this CPU (measured once per process) and ``model``'s layers at each precision offered here
    (INT8 where a file is shipped for its weights), on OpenVINO. One measurement at a time: the app's sessions
    share the result instead of timing against each other."""
    from mnv2_core.runtime.availability import precisions_here

    precisions = precisions or precisions_here()
    with _LOCK:
        peaks = _peaks(tuple(precisions_here()), size, seconds)
        profiles = [_profile(model, width, p, runs) for p in precisions]
    return Roofline(peaks, [p for p in profiles if p is not None])
