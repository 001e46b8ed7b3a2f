"""One way to run a model, as one value: model, width, precision, classes and engine, validated where it is made."""

from __future__ import annotations

from dataclasses import astuple, dataclass

from mnv2_core.models import model_title, labels
from mnv2_core.models.registry import normalise_width
from mnv2_core.runtime.engines import ENGINE_TITLES, ENGINES

PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class ModelConfig:
    """What the Classify page's controls and ``predict``'s flags choose; a Predictor is built from one."""

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
        engine = "auto engine" if self.engine == "auto" else ENGINE_TITLES[self.engine]
        return f"{model_title(self.model, self.width)} {self.precision.upper()} ({engine})"

    @property
    def cache_key(self) -> tuple:
        """One key per configuration and the weights file it would load, for caches of loaded models."""
        from mnv2_core.models.weights import weights_stamp

        return astuple(self) + weights_stamp(self.model, self.width, self.classes)
