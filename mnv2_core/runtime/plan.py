"""Resolve, then run: what a configuration will use (its weights, its INT8 file, the engines it may run on and the
one it will), decided from files (and the weights download a missing source may need). Nothing here is timed,
calibrated or warmed up: that is the Predictor's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnv2_core.measure.fidelity import FidelityRecord, fidelity_for
from mnv2_core.models.model_config import BF16_ENGINES, ModelConfig
from mnv2_core.models.weights import LoadedModel, load_model
from mnv2_core.runtime import engines, int8_files, timings

SHIPPED_INT8_ENGINES = ("onnxruntime", "openvino")  # the engines that run the shipped INT8 ONNX files


@dataclass(frozen=True)
class Plan:
    """A configuration resolved: ``candidates`` maps each engine auto may choose to the variant it would run there;
    ``engine`` is the one to use, or None where auto must time the candidates first (none timed here yet)."""

    config: ModelConfig
    loaded: LoadedModel
    not_sure_below: float | None  # the confidence under which the answer may not be a flower at all
    int8_file: Path | None  # the shipped INT8 ONNX model made from these exact weights
    int8_record: int8_files.Int8Record | None
    bf16_record: FidelityRecord | None  # BF16 against FP32 on the test split, measured on these weights
    candidates: dict[str, str | None]
    engine: str | None

    @property
    def precision(self) -> str:
        return self.config.precision

    def variant(self, engine: str) -> str | None:
        """What ``engine`` runs at this precision: the shipped INT8 file's format, PyTorch's FX INT8, or None (FP32)."""
        if self.precision != "int8":
            return None
        if engine == "torch":
            return "fx"
        return self.int8_record.variant if self.int8_record else "u8u8"


def _not_sure_below(loaded: LoadedModel) -> float | None:
    if loaded.info.classes != "flowers" or not loaded.info.trained:
        return None
    from mnv2_core.measure.open_set import checkpoint_identity, threshold_for

    return threshold_for(loaded.name, loaded.width, checkpoint_identity(loaded.info))


def _check_bf16(config: ModelConfig) -> None:
    """BF16 is refused, in one sentence, on a CPU without native bfloat16 and on an engine without BF16 kernels."""
    from mnv2_core.runtime.availability import require_bf16

    require_bf16()
    if config.engine not in ("auto", *BF16_ENGINES):
        here = [engines.ENGINE_TITLES[e] for e in BF16_ENGINES if e in engines.available_engines()]
        raise engines.EngineError(f"{engines.ENGINE_TITLES[config.engine]} has no BF16 kernels for the CPU; choose "
                                  f"auto or {' or '.join(here)}.")


def plan(config: ModelConfig, *, loaded: LoadedModel | None = None) -> Plan:
    """Resolve ``config``: load its weights (or take ``loaded``), find its INT8 file and the engine it will run on.
    BF16 on a CPU or an engine without it raises EngineError (one sentence)."""
    loaded = loaded or load_model(config.model, config.width, config.classes)
    name, width, classes = loaded.name, loaded.width, loaded.info.classes
    int8_file = record = None
    if config.precision == "int8":
        int8_file = int8_files.shipped_int8(name, width, classes, engines.state_sha(loaded.model))
        record = int8_files.int8_meta(name, width, classes) if int8_file else None
    installed = engines.available_engines()
    if config.precision == "bf16":
        _check_bf16(config)
        installed = tuple(e for e in installed if e in BF16_ENGINES)
    if config.precision == "int8":  # PyTorch would calibrate here; the shipped file needs no calibration
        shipped = tuple(e for e in SHIPPED_INT8_ENGINES if e in installed)
        installed = shipped if int8_file is not None and shipped else ("torch",)
    bf16 = None
    if config.precision == "bf16":
        bf16 = fidelity_for(name, width, "bf16", engines.state_sha(loaded.model))
    draft = Plan(config, loaded, _not_sure_below(loaded), int8_file, record, bf16, {}, None)
    candidates = {e: draft.variant(e) for e in installed}
    engine = config.engine if config.engine != "auto" else (
        timings.fastest_engine(name, width, config.precision, candidates, resolution=loaded.resolution)
        or (next(iter(candidates)) if len(candidates) == 1 else None))
    return Plan(config, loaded, draft.not_sure_below, int8_file, record, bf16, candidates, engine)
