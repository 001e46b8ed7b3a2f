"""Predictor: one model at one width, precision and head, from an upright RGB image to top-k classes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from . import labels
from .preprocess import center_crop_view, to_tensor
from .weights import LoadedModel, WeightsInfo, load_model

PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class Prediction:
    label: str
    class_id: int
    prob: float


@dataclass(frozen=True)
class PredictResult:
    top: list[Prediction]
    latency_ms: float  # the model's forward pass alone
    preprocess_ms: float
    weights: WeightsInfo

    def as_dict(self) -> dict[str, Any]:
        return {"top": [p.__dict__ for p in self.top], "latency_ms": round(self.latency_ms, 3),
                "preprocess_ms": round(self.preprocess_ms, 3), "weights": self.weights.description,
                "weights_source": self.weights.source, "trained": self.weights.trained}


class Predictor:
    """A loaded (and, for INT8, calibrated) model ready to classify images."""

    def __init__(self, name: str = "mobilenet_v2", width: float | None = 1.0, precision: str = "fp32",
                 head: str = "flowers", *, loaded: LoadedModel | None = None) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.loaded = loaded or load_model(name, width, head)
        self.precision = precision
        self.head = self.loaded.info.head
        self.names = labels.class_names(self.head)
        self.model = self.loaded.model
        if precision == "int8":
            from .quantize import quantize_for_predictor

            self.model = quantize_for_predictor(self.loaded)
        self._warm_up()

    def _warm_up(self, calls: int = 2) -> None:
        """The first forward passes allocate and pick kernels (seconds, not ms): pay that here, not in a prediction."""
        x = torch.zeros(1, 3, self.input_size, self.input_size)
        for _ in range(calls):
            self.logits(x)

    @property
    def info(self) -> WeightsInfo:
        return self.loaded.info

    @property
    def input_size(self) -> int:
        return self.loaded.input_size

    def model_view(self, image: Image.Image) -> Image.Image:
        """The centre crop the model sees, before normalisation."""
        return center_crop_view(image, self.input_size)

    def tensor(self, image: Image.Image) -> torch.Tensor:
        return to_tensor(image, self.input_size, mean=self.info.mean, std=self.info.std)

    @torch.inference_mode()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def predict(self, image: Image.Image, top_k: int = 5) -> PredictResult:
        start = time.perf_counter()
        x = self.tensor(image)
        mid = time.perf_counter()
        logits = self.logits(x)
        end = time.perf_counter()
        probs = torch.softmax(logits.float(), dim=1)[0]
        values, indices = probs.topk(min(top_k, probs.numel()))
        top = [Prediction(self.names[i], labels.class_id(self.head, i), float(p))
               for p, i in zip(values.tolist(), indices.tolist())]
        return PredictResult(top, (end - mid) * 1000, (mid - start) * 1000, self.info)

    def explain(self, image: Image.Image, class_index: int | None = None):
        """Grad-CAM heat map over the model's view; INT8 models are explained by their float twin."""
        from .explain import grad_cam

        x = self.tensor(image)
        model = self.loaded.model
        if class_index is None:
            with torch.inference_mode():
                class_index = int(model(x).argmax(1))
        return grad_cam(model, x, class_index)


@dataclass(frozen=True)
class Footprint:
    params: int
    macs: int
    size_bytes: int  # serialized state_dict of the deployed (float or INT8) model


def footprint(predictor: Predictor) -> Footprint:
    """Params and MACs of the float architecture, and the deployed model's size on disk."""
    from .bench import count_macs, count_params
    from .quantize import model_size_bytes

    float_model = predictor.loaded.model
    return Footprint(count_params(float_model), count_macs(float_model, predictor.input_size),
                     model_size_bytes(predictor.model))
