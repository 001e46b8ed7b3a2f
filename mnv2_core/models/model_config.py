"""One way to run a model, as one value: model, width, precision, classes and engine, validated where it is made,
with its title. The names every list of choices is made from (the app's controls, the CLI's flags, the benchmark's
configurations) live here, beside the registry they refer to."""

from __future__ import annotations

from dataclasses import astuple, dataclass

from mnv2_core.models import labels
from mnv2_core.models.registry import REGISTRY, model_title, normalise_width

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "int8")  # 32, 16 and 8 bits; BF16 only on CPUs that have it
BF16_ENGINES: tuple[str, ...] = ("torch", "openvino")  # autocast, and OpenVINO's bf16 inference precision
ENGINES: tuple[str, ...] = ("torch", "onnxruntime", "openvino")
ENGINE_TITLES = {"torch": "PyTorch eager", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}
MODELS: tuple[str, ...] = tuple(REGISTRY)  # registry order: MobileNetV2 first, then its peers


def config_title(model: str, width: float | None, precision: str, engine: str | None = None,
                 variant: str | None = None) -> str:
    """E.g. "MobileNetV2 0.5 INT8 (ONNX Runtime)", "ResNet18 FP32", "MobileNetV2 1.0 INT8 (U8S8-RR)"."""
    where = ("auto engine" if engine == "auto" else ENGINE_TITLES.get(engine, engine)) if engine else None
    details = ", ".join(d for d in (where, variant.upper() if variant else None) if d)
    return f"{model_title(model, width)} {precision.upper()}" + (f" ({details})" if details else "")


@dataclass(frozen=True)
class ModelConfig:
    """What the Classify page's controls, ``predict``'s flags and a benchmark row choose; a Predictor is built from
    one."""

    model: str = "mobilenet_v2"
    width: float | None = 1.0
    precision: str = "fp32"
    classes: str = "flowers"
    engine: str = "auto"  # auto: the engine measured fastest here for this precision

    def __post_init__(self) -> None:
        object.__setattr__(self, "width", normalise_width(self.model, self.width))
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        labels.num_classes(self.classes)  # an unknown class set fails here, in one sentence
        if self.engine != "auto" and self.engine not in ENGINES:
            raise ValueError(f"engine must be auto or one of {', '.join(ENGINES)}, not {self.engine!r}")

    @property
    def title(self) -> str:
        """E.g. "MobileNetV2 0.5 INT8 (ONNX Runtime)"."""
        return config_title(self.model, self.width, self.precision, self.engine)

    @property
    def cache_key(self) -> tuple:
        """One key per configuration and the weights file it would load, for caches of loaded models."""
        from mnv2_core.models.weights import weights_stamp

        return astuple(self) + weights_stamp(self.model, self.width, self.classes)
