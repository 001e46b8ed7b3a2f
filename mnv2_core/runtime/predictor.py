"""Predictor: one model at one width, precision, class set and engine, from an upright RGB image to top-k classes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
from PIL import Image

from mnv2_core.measure.latency import LatencyStats, measure_latency
from mnv2_core.models import labels
from mnv2_core.models.weights import LoadedModel, WeightsInfo, load_model
from mnv2_core.runtime import engines, int8_files, timings
from mnv2_core.runtime.workers import model_slot
from mnv2_core.models.model_config import ModelConfig


@dataclass(frozen=True)
class Prediction:
    label: str
    class_id: int  # the id users see (Oxford-102 from 1)
    prob: float
    index: int  # the model's output index


@dataclass(frozen=True)
class PredictResult:
    top: list[Prediction]
    latency_ms: float  # the model's forward pass alone
    preprocess_ms: float
    weights: WeightsInfo
    not_sure_below: float | None = None  # the confidence under which the answer may not be a flower at all

    @property
    def not_sure(self) -> bool:
        return self.not_sure_below is not None and self.top[0].prob < self.not_sure_below

    def as_dict(self) -> dict[str, Any]:
        return {"top": [{"label": p.label, "class_id": p.class_id, "prob": p.prob} for p in self.top], "latency_ms": round(self.latency_ms, 3),
                "preprocess_ms": round(self.preprocess_ms, 3), "weights": self.weights.description,
                "weights_source": self.weights.source, "trained": self.weights.trained, "not_sure": self.not_sure}


WEAK_BELOW = 0.5  # test top-1 under which the app warns that the model is often wrong


class Predictor:
    """A loaded model on one engine, ready to classify images.

    ``engine="auto"`` takes the engine measured fastest for this (model, width, precision) on this CPU
    (:mod:`mnv2_core.runtime.timings`); where none was measured here yet, it times every candidate engine for about
    a second first and records them (``measured_here`` says so). INT8 runs the INT8 model shipped in assets/int8
    for these exact weights (ONNX Runtime or OpenVINO, whichever is faster here); where none is shipped, PyTorch
    INT8, calibrated here on 32 photos (seconds, once per cache key).
    """

    def __init__(self, config: ModelConfig | None = None, *, loaded: LoadedModel | None = None,
                 threads: int | None = None, trial_seconds: float | None = None) -> None:
        self.config = config = config or ModelConfig()
        self.loaded = loaded or load_model(config.model, config.width, config.classes)
        self.precision = config.precision
        self.classes = self.loaded.info.classes
        self.names = labels.class_names(self.classes)
        self.model = self.loaded.model  # the float torch model (Grad-CAM, params, MACs)
        self.measured_here = False
        self.not_sure_below = None
        if self.classes == "flowers" and self.loaded.info.trained:
            from mnv2_core.measure.open_set import checkpoint_identity, threshold_for

            self.not_sure_below = threshold_for(self.loaded.name, self.loaded.width,
                                                checkpoint_identity(self.loaded.info))
        self._int8_file = None
        self._trial_seconds = trial_seconds  # how long auto times each engine where none was timed here
        if self.precision == "int8":
            self._int8_file = int8_files.shipped_int8(self.loaded.name, self.loaded.width, self.classes,
                                                   engines.state_sha(self.loaded.model))
        self.runner = self._auto_runner(threads) if config.engine == "auto" else self._runner(config.engine, threads)
        self._warm_up()

    def candidate_engines(self) -> tuple[str, ...]:
        """The engines auto chooses among: those installed that run this precision without calibrating here."""
        installed = engines.available_engines()
        if self.precision == "int8":
            shipped = tuple(e for e in ("onnxruntime", "openvino") if e in installed)
            return shipped if self._int8_file is not None and shipped else ("torch",)
        return installed

    def variant(self, engine: str) -> str | None:
        """What ``engine`` would run at this precision: the shipped INT8 file's format, PyTorch's FX INT8, or None
        (FP32)."""
        if self.precision != "int8":
            return None
        if engine == "torch":
            return "fx"
        record = int8_files.int8_meta(self.loaded.name, self.loaded.width, self.classes)
        return record.format_key if record else "u8u8"

    def _auto_runner(self, threads: int | None) -> engines.Runner:
        name, width = self.loaded.name, self.loaded.width
        candidates = {e: self.variant(e) for e in self.candidate_engines()}
        best = timings.fastest_engine(name, width, self.precision, candidates, resolution=self.resolution)
        if best is not None or len(candidates) == 1:
            return self._runner(best or next(iter(candidates)), threads)
        runners = {}
        for engine in candidates:  # an engine that cannot run this model here is left out, not fatal
            try:
                runners[engine] = self._runner(engine, threads)
            except engines.EngineError:
                continue
        if len(runners) <= 1:
            return next(iter(runners.values()), None) or self._runner(next(iter(candidates)), threads)
        candidates = {e: candidates[e] for e in runners}
        x = torch.zeros(1, 3, self.resolution, self.resolution)
        best = timings.measure_engines(name, width, self.precision,
                                       {e: (lambda r=r: r(x)) for e, r in runners.items()}, variants=candidates,
                                       resolution=self.resolution, seconds=self._trial_seconds)
        self.measured_here = True
        return runners[best]

    def _runner(self, engine: str, threads: int | None) -> engines.Runner:
        loaded = self.loaded
        if engine not in engines.ENGINES:
            raise engines.EngineError(f"Unknown engine {engine!r}; choose auto or one of {', '.join(engines.ENGINES)}.")
        if self.precision == "fp32" and engine != "torch":
            tag = f"{loaded.name}_{loaded.width}_{self.classes}"
            path = engines.onnx_for(loaded.model, self.resolution, tag)
            return engines.make_runner(engine, path, "fp32", threads, "exported to ONNX (FP32)")
        if engine != "torch":
            if self._int8_file is None:
                raise engines.EngineError(f"No ONNX INT8 model is shipped for {loaded.title} with these weights; "
                                          f"use the PyTorch engine, or make one with python -m mnv2_core quantize.")
            record = int8_files.int8_meta(loaded.name, loaded.width, self.classes)
            how = f"{record.calibration.method_title} on {record.calibration.images} photos" if record else "?"
            return engines.make_runner(engine, self._int8_file, "int8", threads,
                                       f"static QDQ INT8, calibrated offline with {how}")
        if self.precision == "int8":
            from mnv2_core.runtime.int8_torch import quantize_for_predictor

            self.model = quantize_for_predictor(loaded)
            return engines.make_runner("torch", self.model, "int8", threads, "FX static INT8, calibrated here on 32 "
                                       "photos")
        return engines.make_runner("torch", self.model, "fp32", threads, "eager")

    @property
    def engine(self) -> str:
        return self.runner.engine

    def _warm_up(self, calls: int = 2) -> None:
        """The first forward passes allocate and pick kernels (seconds, not ms): pay that here, not in a prediction."""
        x = torch.zeros(1, 3, self.resolution, self.resolution)
        for _ in range(calls):
            self.logits(x)

    @property
    def info(self) -> WeightsInfo:
        return self.loaded.info

    def warm_latency(self, *, runs: int = 20, warmup: int = 5) -> LatencyStats:
        """Median and p90 of the forward pass alone, after warm-up calls (a single call is too noisy to quote)."""
        x = torch.zeros(1, 3, self.resolution, self.resolution)
        return measure_latency(lambda: self.logits(x), warmup=warmup, runs=runs)

    def accuracy_warning(self) -> str | None:
        """A sentence for a checkpoint that is right on fewer than half the test photos, else None."""
        score = self.info.accuracy.get("test_top1")
        if not self.info.trained or not isinstance(score, float) or score >= WEAK_BELOW:
            return None
        return (f"This checkpoint gets only {score:.0%} of Oxford-102 test photos right ({self.info.provenance.get('recipe')}"
                f"); expect many wrong answers. See the Training page.")

    def int8_fidelity(self) -> str | None:
        """For a shipped INT8 model, how often it agrees with FP32 on the test split, in one sentence."""
        if self.precision != "int8" or self._int8_file is None:
            return None
        record = int8_files.int8_meta(self.loaded.name, self.loaded.width, self.classes)
        if record is None:
            return None
        test = record.test
        return (f"This INT8 model ({record.format_key.upper()}) gives FP32's answer on {test.agreement:.1%} of "
                f"Oxford-102 test photos (top-1 {test.int8_top1:.1%} vs FP32 {test.fp32_top1:.1%}).")

    @property
    def resolution(self) -> int:
        return self.loaded.resolution

    def model_view(self, image: Image.Image) -> Image.Image:
        """The centre crop the model sees, before normalisation."""
        return self.info.preprocess.view(image)

    def tensor(self, image: Image.Image) -> torch.Tensor:
        return self.info.preprocess.tensor(image)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.runner(x)

    def predict(self, image: Image.Image, top_k: int = 5, *,
                on_wait: Callable[[int], None] | None = None) -> PredictResult:
        """Top-k classes; the forward pass takes a slot of the shared pool (``on_wait``: see workers.model_slot)."""
        start = time.perf_counter()
        x = self.tensor(image)
        with model_slot(on_wait):
            mid = time.perf_counter()
            logits = self.logits(x)
            end = time.perf_counter()
        probs = torch.softmax(logits.float(), dim=1)[0]
        values, indices = probs.topk(min(top_k, probs.numel()))
        top = [Prediction(self.names[i], labels.class_id(self.classes, i), float(p), i)
               for p, i in zip(values.tolist(), indices.tolist())]
        return PredictResult(top, (end - mid) * 1000, (mid - start) * 1000, self.info, self.not_sure_below)

    def explain(self, image: Image.Image, class_index: int | None = None, *,
                on_wait: Callable[[int], None] | None = None):
        """Grad-CAM heat map over the model's view for ``class_index`` (default: the float model's top-1; pass the
        prediction's own, which saves a forward pass); INT8 models are explained by their float twin."""
        from mnv2_core.runtime.explain import grad_cam

        x = self.tensor(image)
        model = self.loaded.model
        with model_slot(on_wait):
            if class_index is None:
                with torch.inference_mode():
                    class_index = int(model(x).argmax(1))
            return grad_cam(model, x, class_index)


@dataclass(frozen=True)
class Footprint:
    params: int
    macs: int
    size_bytes: int  # the deployed model on disk: torch state_dict, or the ONNX file


def footprint(predictor: Predictor) -> Footprint:
    """Params and MACs of the float architecture, and the deployed model's size on disk."""
    from mnv2_core.measure.counts import count_macs, count_params

    float_model = predictor.loaded.model
    return Footprint(count_params(float_model), count_macs(float_model, predictor.resolution),
                     predictor.runner.size_bytes)
