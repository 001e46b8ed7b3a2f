"""The shipped INT8 models (``assets/int8``): where each lives, the record written beside it (calibration method,
test accuracy and agreement with FP32, sizes) and whether it was made from the float weights in use."""

from __future__ import annotations

import json
from pathlib import Path

from mnv2_core import config
from mnv2_core.models.model_config import ENGINE_TITLES

INT8_DIR = config.ASSETS_DIR / "int8"



def int8_path(name: str, width: float | None, classes: str = "flowers") -> Path:
    from mnv2_core.models.weights import checkpoint_path

    return INT8_DIR / checkpoint_path(name, width, classes).with_suffix(".int8.onnx").name


def int8_meta(name: str, width: float | None, classes: str = "flowers") -> dict | None:
    """The provenance written beside a shipped INT8 model, or None when there is none."""
    path = int8_path(name, width, classes).with_suffix(".json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def shipped_int8(name: str, width: float | None, classes: str, float_sha: str) -> Path | None:
    """The shipped INT8 ONNX model for this float model, if it was made from these exact weights."""
    path, meta = int8_path(name, width, classes), int8_meta(name, width, classes)
    if path.is_file() and meta and meta.get("float_sha256") == float_sha:
        return path
    return None



def shipped_int8_rows() -> list[dict]:
    """One row per shipped INT8 model for a table: format, calibration, FP32 vs INT8 test top-1 (the worse engine's),
    agreement (overall and per engine), sizes."""
    from mnv2_core.models import model_title

    return [{
        "model": model_title(r["model"], r.get("width")),
        "format": str(r.get("format_key", "u8u8")).upper(),
        "calibration": f"{r['calibration']['method_title']}, {r['calibration']['images']} training photos",
        "FP32 top-1": r["test"]["fp32_top1"], "INT8 top-1": r["test"]["int8_top1"],
        "drop (points)": r["test"]["drop_points"], "top-1 agreement": r["test"]["agreement"],
        # the headline is the worse engine's; each engine's own agreement beside it
        **{f"agreement, {ENGINE_TITLES[e]}": v["agreement"] for e, v in r["test"].get("by_engine", {}).items()},
        "FP32 MB": r["size_bytes"]["fp32_onnx"] / 1e6, "INT8 MB": r["size_bytes"]["int8_onnx"] / 1e6,
        "test images": r["test"]["images"], "made": r["provenance"]["date"][:10],
    } for r in shipped_int8_records()]


def shipped_int8_records() -> list[dict]:
    """Every shipped INT8 model's record (calibration method, test accuracy and agreement, sizes)."""
    records = []
    for path in sorted(INT8_DIR.glob("*.int8.json")) if INT8_DIR.is_dir() else []:
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return records
