"""What the app and the CLI say about a resolved configuration, in sentences: how its engine runs it, how faithful
its INT8 file is, and whether its checkpoint is often wrong. One module, so that the words stay one voice."""

from __future__ import annotations

from mnv2_core.models.loaded import WeightsInfo
from mnv2_core.runtime.plan import Plan

WEAK_BELOW = 0.5  # test top-1 under which the app warns that the model is often wrong


def how_it_runs(plan: Plan, engine: str) -> str:
    """E.g. "static QDQ INT8, calibrated offline with ... on 300 photos", "eager"."""
    if plan.precision == "fp32":
        return "eager" if engine == "torch" else "exported to ONNX (FP32)"
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


def int8_fidelity(plan: Plan) -> str | None:
    """For a shipped INT8 model, how often it agrees with FP32 on the test split, in one sentence."""
    record = plan.int8_record
    if plan.precision != "int8" or plan.int8_file is None or record is None:
        return None
    test = record.test
    return (f"This INT8 model ({record.format_key.upper()}) gives FP32's answer on {test.agreement:.1%} of "
            f"Oxford-102 test photos (top-1 {test.int8_top1:.1%} vs FP32 {test.fp32_top1:.1%}).")


def missing_int8_file(plan: Plan) -> str:
    return (f"No ONNX INT8 model is shipped for {plan.loaded.title} with these weights; use the PyTorch engine, or "
            f"make one with python -m mnv2_core quantize.")
