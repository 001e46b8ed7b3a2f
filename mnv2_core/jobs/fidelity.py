"""``python -m mnv2_core fidelity``: how often BF16 gives FP32's answer, on the Oxford-102 test split, for every
trained flower model, on every engine that runs BF16 here (OpenVINO's bf16 inference precision and PyTorch
autocast), recorded in ``assets/results/fidelity.json`` with the CPU it was measured on."""

from __future__ import annotations

from pathlib import Path

from mnv2_core.jobs.quantize import runner_logits
from mnv2_core.measure.fidelity import FidelityRecord, precision_test
from mnv2_core.models.model_config import BF16_ENGINES
from mnv2_core.runtime import engines


def measure_fidelity(model: str, width: float | None, *, init: str = "default", precision: str = "bf16",
                     data: str | Path | None = None, threads: int | None = None,
                     command: str = "") -> FidelityRecord:
    """FP32 (ONNX Runtime, as INT8 is measured against) and BF16 on each engine, on the test split; raises
    EngineError (one sentence) on a CPU without native bfloat16 and WeightsError where there is no checkpoint."""
    from datetime import datetime, timezone

    from mnv2_core.images.flowers import split_samples
    from mnv2_core.measure.machine import this_cpu
    from mnv2_core.models.checkpoints import WeightsError, find_checkpoint, load_checkpoint_file
    from mnv2_core.models import model_title
    from mnv2_core.runtime.availability import require_bf16

    if precision != "bf16":
        raise ValueError("fidelity measures BF16; INT8's is measured by python -m mnv2_core quantize.")
    require_bf16()
    ckpt = find_checkpoint(model, width, "flowers", None if init == "default" else init)
    if ckpt is None:
        raise WeightsError(f"There is no Oxford-102 checkpoint of {model_title(model, width, init)} here.")
    loaded = load_checkpoint_file(ckpt, model, width, "flowers")
    preprocess = loaded.info.preprocess
    fp32_path = engines.onnx_for(loaded.model, preprocess.resolution, ckpt.stem)
    low = {e: engines.make_runner(e, loaded.model if e == "torch" else fp32_path, precision, threads)
           for e in BF16_ENGINES if e in engines.available_engines()}
    runners = {"fp32": engines.make_runner("onnxruntime", fp32_path, "fp32", threads), **low}
    test = split_samples(data, "test")
    logits = runner_logits(runners, test, preprocess, desc=f"{ckpt.stem} {precision}")
    return FidelityRecord(model, width, init, precision, ckpt.name, engines.state_sha(loaded.model),
                          precision_test(logits["fp32"], {e: logits[e] for e in low}, [y for _, y in test]),
                          this_cpu().title, command, datetime.now(timezone.utc).isoformat(timespec="seconds"))
