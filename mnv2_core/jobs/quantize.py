"""``python -m mnv2_core quantize``: make, choose, measure and ship the INT8 ONNX model of a flower checkpoint.

Each candidate (every calibration method of :mod:`mnv2_core.runtime.int8_onnx`, plain and bias-corrected, in the
fast format first) is scored by its top-1 agreement with FP32 on the *valid* split; the kept one is measured on the
*test* split on every engine that runs ONNX files and shipped to ``assets/int8`` with that record.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from mnv2_core.files import atomic_write, atomic_write_json
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.accuracy import agreement, top1
from mnv2_core.measure.over_split import over_files
from mnv2_core.runtime import engines, int8_files
from mnv2_core.runtime.int8_bias import bias_correct, input_means
from mnv2_core.runtime.int8_onnx import (FALLBACK_FORMAT, FORMAT, FORMAT_TITLES, METHOD_TITLES, METHODS,
                                         MIN_CALIBRATION, TARGET_AGREEMENT, quantize_qdq)


def runner_logits(runners: Mapping[str, engines.Runner], samples: Sequence[tuple[Path, int]],
                  preprocess: Preprocess, *, desc: str = "score") -> dict[str, torch.Tensor]:
    """Logits of every runner on every sample, each image decoded once (by the app's decoder, at full size) and
    prepared as the app prepares an upload."""
    return over_files({k: r.batch for k, r in runners.items()}, list(samples), preprocess, desc=desc)[0]


def _candidates(fp32_path: Path, arrays, means, form: str, methods: Sequence[str], folder: Path) -> dict[str, Path]:
    """Every method in ``form``, as quantized and bias-corrected ("+bc")."""
    candidates = {}
    for m in methods:
        plain = quantize_qdq(fp32_path, folder / f"{form}_{m}.onnx", arrays, m, form)
        corrected = folder / f"{form}_{m}+bc.onnx"
        bias_correct(plain, fp32_path, means, corrected)
        candidates |= {f"{form}/{m}": plain, f"{form}/{m}+bc": corrected}
    return candidates


def _select(fp32_path: Path, fp32: engines.Runner, arrays, methods: Sequence[str], valid, preprocess: Preprocess,
            threads: int | None, log) -> tuple[str, dict[str, float], bytes]:
    """The candidate that agrees best with FP32 on valid: the fast format first, the fallback only where no method
    brings the fast one to the target. Returns its key ("form/method[+bc]"), every agreement and its bytes."""
    means = input_means(fp32_path, arrays)  # for bias correction (int8_bias), once per model
    agree: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for form in (FORMAT, FALLBACK_FORMAT):
            candidates = _candidates(fp32_path, arrays, means, form, methods, Path(tmp))
            runners = {"fp32": fp32, **{k: engines.make_runner("onnxruntime", p, "int8", threads)
                                        for k, p in candidates.items()}}
            logits = runner_logits(runners, valid, preprocess, desc=f"valid {form}")
            agree |= {k: agreement(logits["fp32"], logits[k]) for k in candidates}
            log("valid agreement: " + ", ".join(f"{k} {agree[k]:.2%}" for k in candidates))
            best = max(agree, key=lambda k: (agree[k], k.startswith(FORMAT)))
            if best.startswith(FORMAT) and agree[best] >= TARGET_AGREEMENT:
                break
            if form == FORMAT:
                fast_best = best
        if not best.startswith(FORMAT):
            log(f"-> {best} (the fast format's best, {fast_best}, agreed on only {agree[fast_best]:.2%})")
        else:
            log(f"-> {best}")
        return best, agree, (Path(tmp) / f"{best.replace('/', '_')}.onnx").read_bytes()


def _test_scores(target: Path, fp32: engines.Runner, test, preprocess: Preprocess,
                 threads: int | None) -> int8_files.Int8Test:
    """FP32 and INT8 test top-1 and agreement on every engine that runs ONNX files; the headline is the worse
    engine's, since the app may run either."""
    int8 = {e: engines.make_runner(e, target, "int8", threads) for e in engines.available_engines() if e != "torch"}
    logits = runner_logits({"fp32": fp32, **int8}, test, preprocess, desc="test")
    labels = [y for _, y in test]
    by_engine = {e: int8_files.EngineScore(top1(logits[e], labels), agreement(logits["fp32"], logits[e]))
                 for e in int8}
    fp32_top1, int8_top1 = top1(logits["fp32"], labels), min(r.int8_top1 for r in by_engine.values())
    return int8_files.Int8Test(len(test), fp32_top1, int8_top1, min(r.agreement for r in by_engine.values()),
                               100 * (fp32_top1 - int8_top1), by_engine)


def make_shipped_int8(name: str, width: float | None, *, methods: Sequence[str] = METHODS,
                      calibration: int = MIN_CALIBRATION, data: str | Path | None = None, threads: int | None = None,
                      command: str = "", log=print) -> int8_files.Int8Record:
    """Calibrate, select (valid agreement), measure (test) and ship the INT8 ONNX model of one flower checkpoint."""
    import platform
    from datetime import datetime, timezone

    import onnxruntime

    from mnv2_core.images.flowers import split_samples
    from mnv2_core.measure.machine import this_cpu
    from mnv2_core.models.weights import checkpoint_path, load_checkpoint_file
    from mnv2_core.runtime.calibration import calibration_arrays, calibration_paths

    if calibration < MIN_CALIBRATION:
        raise ValueError(f"Calibrate on at least {MIN_CALIBRATION} images (got {calibration}).")
    started = time.perf_counter()
    ckpt = checkpoint_path(name, width, "flowers")
    loaded = load_checkpoint_file(ckpt, name, width, "flowers")
    preprocess = loaded.info.preprocess
    fp32_path = engines.onnx_for(loaded.model, preprocess.resolution, ckpt.stem)
    fp32 = engines.make_runner("onnxruntime", fp32_path, "fp32", threads)
    paths = calibration_paths(calibration)
    log(f"{ckpt.name}: calibrating on {len(paths)} training photos with {', '.join(methods)}")
    arrays = calibration_arrays(paths, preprocess)
    best, valid_agree, data_bytes = _select(fp32_path, fp32, arrays, methods, split_samples(data, "valid"),
                                            preprocess, threads, log)
    target = int8_files.int8_path(name, width, "flowers")
    atomic_write(target, lambda fh: fh.write(data_bytes))
    form, chosen = best.split("/")
    method, corrected = chosen.removesuffix("+bc"), chosen.endswith("+bc")
    calibrated = int8_files.Int8Calibration(
        method, METHOD_TITLES[method] + (" + bias correction" if corrected else ""), corrected, len(paths),
        "valid top-1 agreement", valid_agree, {"from": "training split, round-robin over classes"})
    sizes = {"fp32_onnx": fp32_path.stat().st_size, "int8_onnx": target.stat().st_size}
    record = int8_files.Int8Record(
        name, width, ckpt.name, engines.state_sha(loaded.model), target.name, FORMAT_TITLES[form], form, calibrated,
        _test_scores(target, fp32, split_samples(data, "test"), preprocess, threads), sizes,
        {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
         "onnxruntime": onnxruntime.__version__, "machine": platform.machine(), "cpu": this_cpu().title,
         "seconds": round(time.perf_counter() - started, 1)})
    atomic_write_json(record.to_json(), target.with_suffix(".json"))
    t = record.test
    log(f"test: FP32 {t.fp32_top1:.2%}  INT8 {t.int8_top1:.2%}  agreement {t.agreement:.2%}  "
        f"size {sizes['fp32_onnx'] / 1e6:.1f} -> {sizes['int8_onnx'] / 1e6:.1f} MB")
    return record
