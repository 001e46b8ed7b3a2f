"""The roofline as the Architecture page and ``python -m mnv2_core roofline`` show it: the peaks, one row per kind of
layer and precision, the chart's points and lines, and the lesson in sentences, all from one measurement."""

from __future__ import annotations

from typing import Any

from mnv2_core.runtime.roofline import Peaks, Profile, Roofline

PRECISION_ORDER = ("FP32", "BF16", "INT8")  # one colour each, points and roof alike
AXIS_MACS_PER_BYTE = (0.05, 2000.0)  # the chart's x range: LeNet's classifier to ResNet50's widest 3x3 convolutions


def peak_rows(peaks: Peaks) -> list[dict[str, Any]]:
    """One row per precision: attainable GMAC/s, and the ridge point where memory stops being the limit."""
    return [{"precision": p.upper(), "peak GMAC/s (matrix multiply)": round(g, 1),
             "memory GB/s (copy)": round(peaks.bandwidth_gbs, 1), "ridge point (MACs per byte)": round(peaks.ridge(p), 1)}
            for p, g in peaks.gmacs.items()]


def kind_rows(roofline: Roofline) -> list[dict[str, Any]]:
    """Per precision and kind of layer: how many, their MACs and bytes, intensity, time, and how close they come to
    the roofline (the bound's share of the measured time)."""
    rows = []
    for profile in roofline.profiles:
        for kind, layers in profile.by_kind().items():
            macs, moved, ms = (sum(x.macs for x in layers), sum(x.moved for x in layers), sum(x.ms for x in layers))
            bound = 1000 * sum(roofline.peaks.layer_bound_s(x) for x in layers)
            rows.append({"precision": profile.precision.upper(), "layers": kind, "count": len(layers),
                         "MMACs": round(macs / 1e6, 1), "MB moved": round(moved / 1e6, 2),
                         "MACs per byte": round(macs / moved, 1), "ms": round(ms, 3),
                         "GMAC/s": round(macs / (ms * 1e6), 1) if ms else None,
                         "of the roofline": round(bound / ms, 2) if ms else None})
    return rows


def whole_model_rows(roofline: Roofline) -> list[dict[str, Any]]:
    """Per precision: the whole model's measured time, its weighted layers' bound, and the rest (other ops)."""
    return [{"configuration": p.title, "measured ms (all ops)": round(p.total_ms, 3),
             "weighted layers ms": round(sum(x.ms for x in p.layers), 3),
             "their roofline bound ms": round(p.bound_ms(roofline.peaks), 3),
             "other ops ms": round(sum(p.other_ms.values()), 3),
             "of the limit": round(p.bound_ms(roofline.peaks) / p.total_ms, 2) if p.total_ms else None}
            for p in roofline.profiles]


def time_split_rows(roofline: Roofline) -> list[dict[str, Any]]:
    """Per precision, where the time goes: the weighted layers by the precision their kernels compute in, and every
    other kind of op by OpenVINO's node type (Subgraph is its fused element-wise code: quantize and dequantize steps,
    activations, gates)."""
    rows = []
    for p in roofline.profiles:
        kernels: dict[str, list] = {}
        for x in p.layers:
            kernels.setdefault(x.kernel_precision, []).append(x)
        rows += [{"configuration": p.title, "part": f"layers, {k.upper()} kernels ({len(v)})",
                  "ms": sum(x.ms for x in v)} for k, v in sorted(kernels.items())]
        rows += [{"configuration": p.title, "part": t, "ms": ms} for t, ms in sorted(p.other_ms.items())]
    return rows


def layer_points(roofline: Roofline) -> list[dict[str, Any]]:
    """One chart point per layer and precision: intensity (x) against attained GMAC/s (y)."""
    return [{"precision": p.precision.upper(), "kind": x.kind, "MACs per byte": x.intensity, "GMAC/s": x.gmacs,
             "layer": x.name.strip("/").removesuffix("/WithoutBiases"), "ms": x.ms, "kernel": x.exec_type}
            for p in roofline.profiles for x in p.layers if x.ms > 0]


def roof_lines(peaks: Peaks) -> list[dict[str, Any]]:
    """Each precision's roofline as points: the memory slope up to the ridge point, then the flat compute peak."""
    lo, hi = AXIS_MACS_PER_BYTE
    return [{"precision": p.upper(), "MACs per byte": x, "GMAC/s": min(g, x * peaks.bandwidth_gbs)}
            for p, g in peaks.gmacs.items() for x in (lo, peaks.ridge(p), hi)]


def _intensity(layers) -> float:
    return sum(x.macs for x in layers) / sum(x.moved for x in layers)


def _speedups(low: Profile, fp32: Profile) -> dict[str, float]:
    """Each kind of layer's measured speed-up from FP32 to ``low``."""
    kinds, base = low.by_kind(), fp32.by_kind()
    return {k: sum(x.ms for x in base[k]) / sum(x.ms for x in v) for k, v in kinds.items()
            if k in base and sum(x.ms for x in v) > 0}


def lesson(roofline: Roofline) -> list[str]:
    """What the measurement says, in sentences: where each kind of layer sits against the ridge points, how much
    faster each kind got per precision (measured), and how much of the limit each configuration reaches."""
    peaks, out = roofline.peaks, []
    ridges = ", ".join(f"{p.upper()} {peaks.ridge(p):.0f}" for p in peaks.gmacs)
    out.append(f"This CPU multiplies at {', '.join(f'{g:.0f} GMAC/s in {p.upper()}' for p, g in peaks.gmacs.items())} "
               f"and moves {peaks.bandwidth_gbs:.0f} GB/s: a layer needs more MACs per byte than the ridge point "
               f"({ridges}) to be limited by arithmetic rather than by memory.")
    by = {p.precision: p for p in roofline.profiles}
    fp32 = by.get("fp32")
    if fp32 is not None:
        where = "; ".join(f"{k} {_intensity(v):.1f}" for k, v in fp32.by_kind().items())
        out.append(f"In FP32, MACs per byte by kind of layer: {where}.")
        gains = {p: _speedups(by[p], fp32) for p in ("bf16", "int8") if p in by}
        if gains:
            out.append("Measured speed-up from FP32 " + "; ".join(
                f"to {p.upper()}: " + ", ".join(f"{k} {x:.1f}x" for k, x in g.items()) for p, g in gains.items())
                + ". Fewer bits halve or quarter both the bytes a layer moves and its time at the compute peak; "
                "what differs is how close each kind's kernels come to the roof.")
            int8 = gains.get("int8", {})
            if int8.get("depthwise", 0) < int8.get("pointwise (1x1)", 0):
                out.append("A depthwise filter sums the 9 products of one channel, which the int8 dot-product "
                           "instructions (several channels' products into one sum) cannot fill; 1x1 and full "
                           "convolutions sum over many channels and can: the depthwise layers gained less.")
    for p in roofline.profiles:
        if p.total_ms <= 0:
            continue
        out.append(f"{p.title}: {p.total_ms:.2f} ms measured, of which {sum(p.other_ms.values()):.2f} ms outside the "
                   f"convolutions and matrix products; the roofline bound of those is {p.bound_ms(peaks):.2f} ms, so "
                   f"the model runs at {p.bound_ms(peaks) / p.total_ms:.0%} of what this machine allows.")
    return out


def int8_verdict(roofline: Roofline) -> str | None:
    """Why INT8 is slower than FP32 here, from the counters, where it is (None where it is not, or either is
    missing): the layers that still compute in FP32, and the ops between the layers where they take longer."""
    by = {p.precision: p for p in roofline.profiles}
    fp32, int8 = by.get("fp32"), by.get("int8")
    if fp32 is None or int8 is None or int8.total_ms <= fp32.total_ms:
        return None
    reasons = []
    if in_fp32 := [x for x in int8.layers if x.kernel_precision == "fp32"]:
        reasons.append(f"{len(in_fp32)} of its {len(int8.layers)} layers still run FP32 kernels (OpenVINO "
                       f"dequantizes the weights its int8 kernels do not take)")
    other_fp32, other_int8 = sum(fp32.other_ms.values()), sum(int8.other_ms.values())
    if other_int8 > other_fp32:
        top = max(int8.other_ms, key=int8.other_ms.__getitem__)
        reasons.append(f"the ops between the layers take {other_int8:.2f} ms instead of {other_fp32:.2f} ms, "
                       f"{top} nodes the most (OpenVINO's fused element-wise code: the quantize and dequantize steps "
                       f"around the operators that stay in float)")
    layers_fp32, layers_int8 = (sum(x.ms for x in p.layers) for p in (fp32, int8))
    if layers_int8 > layers_fp32:
        reasons.append(f"its layers take {layers_int8:.2f} ms instead of {layers_fp32:.2f} ms")
    return (f"{int8.title} takes {int8.total_ms:.2f} ms against {fp32.total_ms:.2f} ms in FP32. From the counters: "
            + "; ".join(reasons) + ".")
