"""The shipped INT8 models (``assets/int8``): where each lives, the record written beside it (calibration method,
test accuracy and agreement with FP32, sizes) and whether it was made from the float weights in use."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnv2_core import config
from mnv2_core.measure.fidelity import PrecisionTest
from mnv2_core.typed_json import Open, parse, present

INT8_DIR = config.ASSETS_DIR / "int8"


@dataclass(frozen=True)
class Int8Calibration(Open):
    """How the INT8 model was calibrated, and which candidate won on valid (agreement with FP32)."""

    method: str = ""
    method_title: str = ""
    bias_correction: bool = False
    images: int = 0
    selected_on: str = ""
    valid_agreement: dict[str, float] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)  # e.g. "from": where the calibration photos came from


@dataclass(frozen=True)
class Int8Record:
    """The record written beside a shipped INT8 model: what it was made from, how, and how faithful it is."""

    model: str
    width: float | None
    checkpoint: str
    float_sha256: str
    file: str
    format: str
    format_key: str
    calibration: Int8Calibration
    test: PrecisionTest
    size_bytes: dict[str, int]  # fp32_onnx, int8_onnx
    provenance: dict[str, Any]
    init: str = "default"  # "scratch": made from the from-scratch checkpoint of a transfer-learned model
    scope: str = "all"  # which operators carry Q/DQ pairs (int8_onnx.SCOPES)

    @property
    def variant(self) -> str:
        """What the engine timings name this file by: its format, and its scope where not every operator."""
        return self.format_key + ("" if self.scope == "all" else f"@{self.scope}")

    @property
    def title(self) -> str:
        """E.g. "ResNet18", "MobileNetV2 1.0 (from scratch)"."""
        from mnv2_core.models import model_title

        return model_title(self.model, self.width, self.init)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Int8Record:
        data = {"format_key": "u8u8", "calibration": {}, **data}  # older records lack these
        test = dict(data.get("test") or {})
        if "int8_top1" in test:  # records written before PrecisionTest named it top1
            test["top1"] = test.pop("int8_top1")
            test["by_engine"] = {e: {("top1" if k == "int8_top1" else k): v for k, v in s.items()}
                                 for e, s in (test.get("by_engine") or {}).items()}
        return parse(cls, {**data, "test": test})

    def to_json(self) -> dict[str, Any]:
        return {**present(self), "width": self.width, "calibration": present(self.calibration),
                "test": present(self.test)}



def int8_path(name: str, width: float | None, classes: str = "flowers", init: str | None = None) -> Path:
    from mnv2_core.models.weights import checkpoint_path

    return INT8_DIR / checkpoint_path(name, width, classes, init).with_suffix(".int8.onnx").name


def _read(path: Path) -> Int8Record | None:
    try:
        return Int8Record.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def int8_meta(name: str, width: float | None, classes: str = "flowers") -> Int8Record | None:
    """The record written beside a shipped INT8 model, or None when there is none."""
    return _read(int8_path(name, width, classes).with_suffix(".json"))


def shipped_int8(name: str, width: float | None, classes: str, float_sha: str) -> Path | None:
    """The shipped INT8 ONNX model for this float model, if it was made from these exact weights."""
    path, meta = int8_path(name, width, classes), int8_meta(name, width, classes)
    if path.is_file() and meta and meta.float_sha256 == float_sha:
        return path
    return None


def shipped_int8_records() -> list[Int8Record]:
    """Every shipped INT8 model's record (calibration method, test accuracy and agreement, sizes)."""
    found = (_read(p) for p in sorted(INT8_DIR.glob("*.int8.json"))) if INT8_DIR.is_dir() else ()
    return [r for r in found if r is not None]


def shipped_int8_commands() -> list[str]:
    """The commands that made the shipped INT8 models, each once, in file order."""
    return list(dict.fromkeys(str(r.provenance.get("command", "")) for r in shipped_int8_records()))
