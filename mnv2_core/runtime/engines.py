"""Inference engines behind one call: a float [1, 3, H, W] tensor in, logits out.

- ``torch``: eager PyTorch (FP32), or torch.ao FX static INT8 (per-channel, fused, calibrated; :mod:`quantize`).
- ``onnxruntime``: the model exported to ONNX and run by ONNX Runtime's CPU provider with every graph optimisation
  (conv + BN + activation fusion, Pad folded into Conv). INT8 is a static QDQ model, per-channel weights and
  calibrated activations, produced offline by ``python -m mnv2_core quantize`` and shipped in ``assets/int8``.

On these machines ONNX Runtime FP32 runs MobileNetV2 about 3x faster than eager PyTorch (see the Benchmark page):
the runtime matters as much as the architecture. The fastest measured engine per precision is the default
(:func:`default_engine`).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from mnv2_core import config
from mnv2_core.files import atomic_write

if TYPE_CHECKING:  # torch loads lazily: pages that only need the names below stay fast to import
    import torch
    from torch import nn

ENGINES: tuple[str, ...] = ("torch", "onnxruntime")
ENGINE_TITLES = {"torch": "PyTorch eager", "onnxruntime": "ONNX Runtime"}
OPSET = 17
EXPORT_VERSION = 1  # bump when export_onnx changes what it writes: cached files are keyed on it
INT8_DIR = config.ASSETS_DIR / "int8"
ENGINE_TIMINGS = config.RESULTS_DIR / "engines.json"


class EngineError(ValueError):
    """An engine cannot run this model here; ``str()`` is one sentence for the UI."""


@dataclass
class Runner:
    """A ready-to-call model on one engine: ``runner(x)`` gives float logits as a torch tensor."""

    engine: str
    precision: str
    call: Callable[[torch.Tensor], torch.Tensor]
    size_bytes: int  # the deployed model's size on disk (state_dict for torch, the .onnx file for ONNX Runtime)
    detail: str = ""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.call(x)


def state_sha(model: nn.Module, *, skip_prefix: str | None = None) -> str:
    """SHA-256 of a model's weights (optionally without one submodule), to key caches on what the model computes."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if skip_prefix is None or not name.startswith(skip_prefix):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def ort_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------------------------------------------ export


def export_onnx(model: nn.Module, resolution: int, target: Path) -> Path:
    """Export ``model`` (eval mode, batch 1, static shapes) to ``target`` atomically; returns ``target``."""
    import io
    import warnings

    import torch

    from mnv2_core.runtime.int8_torch import fix_tf_same_padding

    model = copy.deepcopy(model).eval()
    x = torch.zeros(1, 3, resolution, resolution)
    # TF-'SAME' pads become constants for this size (a Pad that ONNX Runtime folds into the next Conv), instead of
    # shape arithmetic in the graph.
    fix_tf_same_padding(model, x, fbgemm_depthwise=False)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(model, (x,), buffer, input_names=["input"], output_names=["logits"], opset_version=OPSET,
                          dynamo=False, do_constant_folding=True)
    atomic_write(target, lambda fh: fh.write(buffer.getvalue()))
    return target


def onnx_for(model: nn.Module, resolution: int, tag: str) -> Path:
    """The FP32 ONNX file of ``model`` in the cache, exported on first use (keyed by its weights)."""
    target = config.cache_dir() / "onnx" / f"{tag}_{resolution}px_v{EXPORT_VERSION}_{state_sha(model)[:12]}.onnx"
    return target if target.is_file() else export_onnx(model, resolution, target)


# ------------------------------------------------------------------------------------------------ ONNX Runtime


def ort_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session with all graph optimisations and ``threads`` intra-op threads (default: torch's)."""
    if not ort_available():
        raise EngineError("ONNX Runtime is not installed here (pip install onnxruntime).")
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a truncated or foreign file
        raise EngineError(f"ONNX Runtime could not load {Path(path).name} ({type(exc).__name__}).") from exc


def ort_runner(path: Path, precision: str, threads: int | None = None, detail: str = "") -> Runner:
    import torch

    session = ort_session(path, threads)
    name = session.get_inputs()[0].name

    def call(x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(session.run(None, {name: array})[0])

    return Runner("onnxruntime", precision, call, Path(path).stat().st_size, detail)


def torch_runner(model: nn.Module, precision: str, detail: str = "") -> Runner:
    import torch

    from mnv2_core.runtime.int8_torch import model_size_bytes

    def call(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return model(x)

    return Runner("torch", precision, call, model_size_bytes(model), detail)


# ------------------------------------------------------------------------------------------- shipped INT8 models


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


# -------------------------------------------------------------------------------------------------- defaults


def timings_record() -> dict:
    """The last ``python -m mnv2_core bench --save`` record (date, cpu, command, rows); empty when there is none."""
    try:
        record = json.loads(ENGINE_TIMINGS.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def measured_timings() -> list[dict]:
    """Rows of the last ``python -m mnv2_core bench --engines ...`` run saved in assets/results/engines.json."""
    return timings_record().get("rows", [])


def default_engine(precision: str, model: str = "mobilenet_v2", width: float | None = 1.0) -> str:
    """The fastest engine measured on this kind of machine for ``precision`` (ONNX Runtime when nothing is saved)."""
    rows = [r for r in measured_timings() if r.get("precision") == precision and r.get("model") == model
            and r.get("width") == width and r.get("engine") in ENGINES]
    if not rows:
        rows = [r for r in measured_timings() if r.get("precision") == precision and r.get("engine") in ENGINES]
    best = min(rows, key=lambda r: r["median_ms"])["engine"] if rows else "onnxruntime"
    return best if best != "onnxruntime" or ort_available() else "torch"


def shipped_int8_rows() -> list[dict]:
    """One row per shipped INT8 model for a table: calibration, FP32 vs INT8 test top-1, agreement, sizes."""
    from mnv2_core.models import model_title

    return [{
        "model": model_title(r["model"], r.get("width")),
        "calibration": f"{r['calibration']['method_title']}, {r['calibration']['images']} training photos",
        "FP32 top-1": r["test"]["fp32_top1"], "INT8 top-1": r["test"]["int8_top1"],
        "drop (points)": r["test"]["drop_points"], "top-1 agreement": r["test"]["agreement"],
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
