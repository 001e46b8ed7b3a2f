"""``python -m mnv2_core quantize``: make, choose, measure and ship the INT8 ONNX model of a flower checkpoint.

Each candidate (every calibration method of :mod:`mnv2_core.runtime.int8_onnx`, plain and bias-corrected, with
every operator or only the weighted layers quantized, in the fast format first) is scored by its top-1 agreement
with FP32 on the *valid* split and timed here; the most faithful one that is not slower than FP32 (where one is
not) is measured on the *test* split on every engine that runs ONNX files and shipped to ``assets/int8`` with that
record.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from mnv2_core.files import atomic_write, atomic_write_json
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.accuracy import agreement
from mnv2_core.measure.fidelity import PrecisionTest, precision_test
from mnv2_core.measure.over_split import over_files
from mnv2_core.runtime import engines, int8_files
from mnv2_core.runtime.int8_bias import bias_correct, input_means
from mnv2_core.runtime.int8_onnx import (FALLBACK_FORMAT, FORMAT, FORMAT_TITLES, METHOD_TITLES, METHODS,
                                         MIN_CALIBRATION, SCOPE_TITLES, SCOPES, TARGET_AGREEMENT, quantize_qdq)


SLOWER_SLACK = (0.02, 0.05)  # timing jitter: a candidate is slower than FP32 beyond 2% of it, and at least 0.05 ms


def runner_logits(runners: Mapping[str, engines.Runner], samples: Sequence[tuple[Path, int]],
                  preprocess: Preprocess, *, desc: str = "score") -> dict[str, torch.Tensor]:
    """Logits of every runner on every sample, each image decoded once (by the app's decoder, at full size) and
    prepared as the app prepares an upload."""
    return over_files({k: r.batch for k, r in runners.items()}, list(samples), preprocess, desc=desc)[0]


def _candidates(fp32_path: Path, arrays, means, form: str, methods: Sequence[str], folder: Path) -> dict[str, Path]:
    """Every method and scope in ``form``, as quantized and bias-corrected: keys "form/method[+bc][@scope]" (no
    scope: every operator ONNX Runtime quantizes)."""
    candidates = {}
    for scope in SCOPES:
        for m in methods:
            key = f"{form}/{m}"
            tag = "" if scope == "all" else f"@{scope}"
            plain = quantize_qdq(fp32_path, folder / f"{form}_{m}{tag}.onnx", arrays, m, form, scope)
            corrected = folder / f"{form}_{m}+bc{tag}.onnx"
            bias_correct(plain, fp32_path, means, corrected)
            candidates |= {key + tag: plain, f"{key}+bc{tag}": corrected}
    return candidates


def _fastest_ms(paths: Mapping[str, Path], precision: str, threads: int | None, x: torch.Tensor) -> dict[str, float]:
    """Each file's median latency on the fastest engine that runs ONNX files here (batch 1)."""
    from mnv2_core.measure.latency import measure_latency

    out = {}
    for key, path in paths.items():
        out[key] = min(measure_latency(lambda r=engines.make_runner(e, path, precision, threads): r(x), warmup=3,
                                       runs=20, max_seconds=2.0).median_ms
                       for e in engines.available_engines() if e != "torch")
    return out


def choose(agree: Mapping[str, float], speed: Mapping[str, float], fp32_ms: float) -> str:
    """The most faithful candidate (valid agreement; the fast format on a tie) among those not slower than FP32
    here, or among all where every one is: never ship a slower variant where a faster one exists. A slack of the
    size of timing jitter (hundredths of a ms in small models) keeps noise from deciding."""
    share, floor_ms = SLOWER_SLACK
    faster = [k for k in agree if speed[k] <= fp32_ms + max(floor_ms, share * fp32_ms)] or list(agree)
    return max(faster, key=lambda k: (agree[k], k.startswith(FORMAT)))


def _select(fp32_path: Path, fp32: engines.Runner, arrays, methods: Sequence[str], valid, preprocess: Preprocess,
            threads: int | None, log) -> tuple[str, dict[str, float], bytes]:
    """The candidate that agrees best with FP32 on valid among those not slower than FP32 here (all of them where
    none is faster): the fast format first, the fallback only where no method brings the fast one to the target.
    Returns its key ("form/method[+bc][@scope]"), every agreement and its bytes."""
    means = input_means(fp32_path, arrays)  # for bias correction (int8_bias), once per model
    x = torch.from_numpy(arrays[0])
    fp32_ms = min(_fastest_ms({"fp32": fp32_path}, "fp32", threads, x).values())
    agree: dict[str, float] = {}
    speed: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for form in (FORMAT, FALLBACK_FORMAT):
            candidates = _candidates(fp32_path, arrays, means, form, methods, Path(tmp))
            runners = {"fp32": fp32, **{k: engines.make_runner("onnxruntime", p, "int8", threads)
                                        for k, p in candidates.items()}}
            logits = runner_logits(runners, valid, preprocess, desc=f"valid {form}")
            agree |= {k: agreement(logits["fp32"], logits[k]) for k in candidates}
            speed |= _fastest_ms(candidates, "int8", threads, x)
            log("valid agreement, ms (FP32 " + f"{fp32_ms:.2f}): " +
                ", ".join(f"{k} {agree[k]:.2%} {speed[k]:.2f}" for k in candidates))
            best = choose(agree, speed, fp32_ms)
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
                 threads: int | None) -> PrecisionTest:
    """FP32 and INT8 test top-1 and agreement on every engine that runs ONNX files."""
    int8 = {e: engines.make_runner(e, target, "int8", threads) for e in engines.available_engines() if e != "torch"}
    logits = runner_logits({"fp32": fp32, **int8}, test, preprocess, desc="test")
    return precision_test(logits["fp32"], {e: logits[e] for e in int8}, [y for _, y in test])


def make_shipped_int8(name: str, width: float | None, *, init: str | None = None, methods: Sequence[str] = METHODS,
                      calibration: int = MIN_CALIBRATION, data: str | Path | None = None, threads: int | None = None,
                      command: str = "", log=print) -> int8_files.Int8Record:
    """Calibrate, select (valid agreement), measure (test) and ship the INT8 ONNX model of one flower checkpoint
    (``init="scratch"``: the from-scratch checkpoint of a model whose default one is transfer-learned)."""
    import platform
    from datetime import datetime, timezone

    import onnxruntime

    from mnv2_core.images.flowers import split_samples
    from mnv2_core.measure.machine import this_cpu
    from mnv2_core.models.weights import checkpoint_path, load_checkpoint_file
    from mnv2_core.models.checkpoints import MAX_INT8_SHIPPED_BYTES
    from mnv2_core.runtime.calibration import QuantizationError, calibration_arrays, calibration_paths

    if calibration < MIN_CALIBRATION:
        raise ValueError(f"Calibrate on at least {MIN_CALIBRATION} images (got {calibration}).")
    started = time.perf_counter()
    ckpt = checkpoint_path(name, width, "flowers", init)
    loaded = load_checkpoint_file(ckpt, name, width, "flowers")
    preprocess = loaded.info.preprocess
    fp32_path = engines.onnx_for(loaded.model, preprocess.resolution, ckpt.stem)
    fp32 = engines.make_runner("onnxruntime", fp32_path, "fp32", threads)
    paths = calibration_paths(calibration)
    log(f"{ckpt.name}: calibrating on {len(paths)} training photos with {', '.join(methods)}")
    arrays = calibration_arrays(paths, preprocess)
    best, valid_agree, data_bytes = _select(fp32_path, fp32, arrays, methods, split_samples(data, "valid"),
                                            preprocess, threads, log)
    target = int8_files.int8_path(name, width, "flowers", init)
    if len(data_bytes) > MAX_INT8_SHIPPED_BYTES:  # the repository's limit for int8-stored weights, as checkpoints
        raise QuantizationError(f"The INT8 model of {ckpt.name} is {len(data_bytes) / 1e6:.1f} MB, over the "
                                f"{MAX_INT8_SHIPPED_BYTES / 1e6:.0f} MB this repository ships; it was not written.")
    atomic_write(target, lambda fh: fh.write(data_bytes))
    form, chosen = best.split("/")
    chosen, _, scope = chosen.partition("@")
    method, corrected = chosen.removesuffix("+bc"), chosen.endswith("+bc")
    calibrated = int8_files.Int8Calibration(
        method, METHOD_TITLES[method] + (" + bias correction" if corrected else ""), corrected, len(paths),
        "valid top-1 agreement", valid_agree, {"from": "training split, round-robin over classes"})
    sizes = {"fp32_onnx": fp32_path.stat().st_size, "int8_onnx": target.stat().st_size}
    record = int8_files.Int8Record(
        name, width, ckpt.name, engines.state_sha(loaded.model), target.name,
        FORMAT_TITLES[form] + ("; " + SCOPE_TITLES[scope] if scope else ""), form, calibrated,
        _test_scores(target, fp32, split_samples(data, "test"), preprocess, threads), sizes,
        {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
         "onnxruntime": onnxruntime.__version__, "machine": platform.machine(), "cpu": this_cpu().title,
         "seconds": round(time.perf_counter() - started, 1)}, init or "default", scope or "all")
    atomic_write_json(record.to_json(), target.with_suffix(".json"))
    t = record.test
    log(f"test: FP32 {t.fp32_top1:.2%}  INT8 {t.top1:.2%}  agreement {t.agreement:.2%}  "
        f"size {sizes['fp32_onnx'] / 1e6:.1f} -> {sizes['int8_onnx'] / 1e6:.1f} MB")
    return record
