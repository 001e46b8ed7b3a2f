"""Predictor: one model at one width, precision, class set and engine, from an upright RGB image to top-k classes."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

from mnv2_core.measure.latency import LatencyStats, measure_latency
from mnv2_core.models import labels
from mnv2_core.models.weights import LoadedModel, WeightsInfo
from mnv2_core.models.feature_map import WithFeatureMap, split_at_feature_map
from mnv2_core.runtime import describe, engines, timings
from mnv2_core.runtime.explain import heat_map
from mnv2_core.runtime.plan import plan
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
    heat: np.ndarray | None = None  # where the model looked for its top-1, [resolution, resolution] in [0, 1]

    @property
    def not_sure(self) -> bool:
        return self.not_sure_below is not None and self.top[0].prob < self.not_sure_below

    def as_dict(self) -> dict[str, Any]:
        return {"top": [{"label": p.label, "class_id": p.class_id, "prob": p.prob} for p in self.top], "latency_ms": round(self.latency_ms, 3),
                "preprocess_ms": round(self.preprocess_ms, 3), "weights": self.weights.description,
                "weights_source": self.weights.source, "trained": self.weights.trained, "not_sure": self.not_sure}


class Predictor:
    """A resolved configuration (:func:`mnv2_core.runtime.plan.plan`) on its engine, ready to predict, explain and
    time. ``engine="auto"`` takes the engine measured fastest here; where none was measured yet, it times every
    candidate for about a second first and records them (``measured_here`` says so). PyTorch INT8, where no INT8
    file is shipped, is calibrated here on 32 photos (seconds, once per cache key)."""

    def __init__(self, config: ModelConfig | None = None, *, loaded: LoadedModel | None = None,
                 threads: int | None = None, trial_seconds: float | None = None) -> None:
        self.config = config = config or ModelConfig()
        self.plan = plan(config, loaded=loaded)
        self.loaded = self.plan.loaded
        self.precision = config.precision
        self.classes = self.loaded.info.classes
        self.names = labels.class_names(self.classes)
        self.model = self.loaded.model  # the float torch model (params, MACs)
        self.head = split_at_feature_map(self.model)[1]  # the float head the heat map is read with
        self.not_sure_below = self.plan.not_sure_below
        self.measured_here = False
        self.runner = self._runner(self.plan.engine, threads) if self.plan.engine else \
            self._timed_runner(threads, trial_seconds)
        self._warm_up()

    def _timed_runner(self, threads: int | None, seconds: float | None) -> engines.Runner:
        """Every candidate engine that runs this model here, timed; the fastest kept and every time recorded."""
        runners = {}
        for engine in self.plan.candidates:  # an engine that cannot run this model here is left out, not fatal
            try:
                runners[engine] = self._runner(engine, threads)
            except engines.EngineError:
                continue
        if len(runners) <= 1:
            return next(iter(runners.values()), None) or self._runner(next(iter(self.plan.candidates)), threads)
        x = torch.zeros(1, 3, self.resolution, self.resolution)
        best = timings.measure_engines(self.loaded.name, self.loaded.width, self.precision,
                                       {e: (lambda r=r: r(x)) for e, r in runners.items()},
                                       variants={e: self.plan.candidates[e] for e in runners},
                                       resolution=self.resolution, seconds=seconds)
        self.measured_here = True
        return runners[best]

    def _runner(self, engine: str, threads: int | None) -> engines.Runner:
        detail = describe.how_it_runs(self.plan, engine)
        if engine not in engines.ENGINES:
            raise engines.EngineError(f"Unknown engine {engine!r}; choose auto or one of {', '.join(engines.ENGINES)}.")
        # Every engine answers the logits and the last feature map from one pass: the heat map needs no other.
        two_outputs = WithFeatureMap(self.model)
        if self.precision != "int8" and engine != "torch":  # FP32, or BF16 compiled from the FP32 file
            loaded = self.loaded
            path = engines.onnx_for(two_outputs, self.resolution, f"{loaded.name}_{loaded.width}_{self.classes}")
            return engines.make_runner(engine, path, self.precision, threads, detail)
        if engine != "torch":
            if self.plan.int8_file is None:
                raise engines.EngineError(describe.missing_int8_file(self.plan))
            try:
                artifact = engines.with_feature_output(self.plan.int8_file)
            except (engines.EngineError, OSError):  # no single feature map, or a cache it cannot write: no heat map
                artifact = self.plan.int8_file
            return engines.make_runner(engine, artifact, "int8", threads, detail)
        if self.precision == "int8":
            from mnv2_core.runtime.int8_torch import quantize_for_predictor

            two_outputs = quantize_for_predictor(replace(self.loaded, model=two_outputs))
        return engines.make_runner("torch", two_outputs, self.precision, threads, detail)

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
        """Top-k classes and where the model looked for the first, from one forward pass; the pass takes a slot of
        the shared pool (``on_wait``: see workers.model_slot)."""
        start = time.perf_counter()
        x = self.tensor(image)
        with model_slot(on_wait):
            mid = time.perf_counter()
            logits, features = self.runner.with_features(x)
            end = time.perf_counter()
        probs = torch.softmax(logits.float(), dim=1)[0]
        values, indices = probs.topk(min(top_k, probs.numel()))
        top = [Prediction(self.names[i], labels.class_id(self.classes, i), float(p), i)
               for p, i in zip(values.tolist(), indices.tolist())]
        heat = None if features is None else heat_map(features, self.head, top[0].index, self.resolution)
        return PredictResult(top, (end - mid) * 1000, (mid - start) * 1000, self.info, self.not_sure_below, heat)

    def explain(self, image: Image.Image, class_index: int | None = None) -> np.ndarray:
        """Where the model looked for ``class_index`` (default: its top-1), from the feature map of the pass that
        answers: the INT8 model's own map for an INT8 model."""
        x = self.tensor(image)
        with model_slot():
            logits, features = self.runner.with_features(x)
        target = int(logits.argmax(1)) if class_index is None else class_index
        if features is None:  # an engine file without the feature map: the float model's Grad-CAM
            from mnv2_core.runtime.explain import grad_cam

            return grad_cam(self.model, x, target)
        return heat_map(features, self.head, target, self.resolution)


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
