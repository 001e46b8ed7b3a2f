"""What the app and the CLI say about a resolved configuration, in sentences: how its engine runs it, how faithful
its INT8 file or BF16 is to FP32, and whether its checkpoint is often wrong. One module, so that the words stay one voice."""

from __future__ import annotations

from mnv2_core.models.loaded import WeightsInfo
from mnv2_core.runtime.plan import Plan

WEAK_BELOW = 0.5  # test top-1 under which the app warns that the model is often wrong


def how_it_runs(plan: Plan, engine: str) -> str:
    """E.g. "static QDQ INT8, calibrated offline with ... on 300 photos", "eager"."""
    if plan.precision == "fp32":
        return "eager" if engine == "torch" else "exported to ONNX (FP32)"
    if plan.precision == "bf16":
        return "eager, autocast to BF16" if engine == "torch" else "exported to ONNX, compiled with BF16 precision"
    if engine == "torch":
        return "FX static INT8, calibrated here on 32 photos"
    record = plan.int8_record
    how = f"{record.calibration.method_title} on {record.calibration.images} photos" if record else "?"
    return f"static QDQ INT8, calibrated offline with {how}"


def accuracy_warning(info: WeightsInfo) -> str | None:
    """A sentence for a checkpoint that is right on fewer than half the test photos, else None."""
    score = info.test_top1
    if not info.trained or score is None or score >= WEAK_BELOW:
        return None
    return (f"This checkpoint gets only {score:.0%} of Oxford-102 test photos right ({info.recipe}); expect many "
            f"wrong answers. See the Training page.")


FAITHFUL = 0.99  # agreement with FP32 under which a lower precision is called out as changing answers


def fidelity(plan: Plan, engine: str) -> str | None:
    """How often this INT8 file, or BF16 on these weights, gives FP32's answer on the test split, in one sentence
    (two where it changes more than 1 answer in 100); None for FP32, for PyTorch's INT8 (calibrated here, not the
    file), or where it was not measured."""
    if plan.precision == "int8" and engine == "torch":
        return None
    if plan.precision == "int8" and plan.int8_file is not None and plan.int8_record is not None:
        test, what = plan.int8_record.test, f"This INT8 model ({plan.int8_record.format_key.upper()})"
    elif plan.precision == "bf16":
        if plan.bf16_record is None:  # measured on the flower test split, for the flower checkpoints
            return None if plan.loaded.info.classes != "flowers" else (
                "BF16's agreement with FP32 was not measured for these weights (python -m mnv2_core fidelity).")
        # bfloat16 rounding is the CPU's kernels': the figure says which CPU measured it
        test, what, where = plan.bf16_record.test, "In BF16 this model", f", measured on {plan.bf16_record.cpu}"
    else:
        return None
    if plan.precision == "int8":
        where = ""
    sentence = (f"{what} gives FP32's answer on {test.agreement:.1%} of Oxford-102 test photos (top-1 "
                f"{test.top1:.1%} vs FP32 {test.fp32_top1:.1%}{where}).")
    if test.agreement < FAITHFUL:
        sentence += " " + changes_answers(plan.precision)
    return sentence


def changes_answers(precision: str) -> str:
    """Why a lower precision changes more than 1 answer in 100, in one sentence."""
    why = ("bfloat16 keeps 8 significant bits (7 stored), and a narrow or weak model's top two classes are often "
           "closer than that rounding" if precision == "bf16" else
           "a weak model's top two classes are often closer than INT8's rounding")
    return f"Under {FAITHFUL:.0%}: at {precision.upper()} it changes more than 1 answer in 100 ({why})."


def missing_int8_file(plan: Plan) -> str:
    return (f"No ONNX INT8 model is shipped for {plan.loaded.title} with these weights; use the PyTorch engine, or "
            f"make one with python -m mnv2_core quantize.")


def slower_than_fp32(plan: Plan) -> str | None:
    """A sentence where this CPU's timings show the lower precision slower than FP32 for this model (as INT8
    EfficientNet-B0 can be), else None; nothing is timed here."""
    if plan.precision == "fp32":
        return None
    from mnv2_core.runtime.timings import measured_timings

    loaded = plan.loaded

    def fastest(precision: str, variant) -> float | None:  # rows of what this configuration runs, not older files
        return min((r.median_ms for r in measured_timings() if r.same(loaded.name, loaded.width, precision,
                    loaded.resolution) and r.engine in plan.candidates and r.variant == variant(r.engine)),
                   default=None)

    low, fp32 = fastest(plan.precision, plan.variant), fastest("fp32", lambda engine: None)
    if low is None or fp32 is None or low <= fp32:
        return None
    why = " The Architecture page's roofline shows why." if plan.precision == "int8" else ""
    return (f"On this CPU {plan.precision.upper()} is slower than FP32 for {loaded.title} ({low:.1f} vs {fp32:.1f} "
            f"ms, the fastest engine of each).{why}")
