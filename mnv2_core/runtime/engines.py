"""Inference engines behind one call: a float [1, 3, H, W] tensor in, logits out (and, for a model exported with it,
the last feature map the heat map is made of).

- ``torch``: eager PyTorch (FP32), or torch.ao FX static INT8 (per-channel, fused, calibrated; :mod:`quantize`).
- ``onnxruntime``: the model exported to ONNX and run by ONNX Runtime's CPU provider with every graph optimisation
  (conv + BN + activation fusion, Pad folded into Conv). INT8 is a static QDQ model, per-channel weights and
  calibrated activations, produced offline by ``python -m mnv2_core quantize`` and shipped in ``assets/int8``.
- ``openvino``: the same ONNX files compiled by OpenVINO's CPU plugin; FP32 is asked for explicitly (it would
  otherwise run BF16 on CPUs that have it), BF16 is its bf16 inference precision on the FP32 file, INT8 runs the
  QDQ model's int8 convolutions.
- BF16 in ``torch`` is autocast; ONNX Runtime has no BF16 convolution kernels for the CPU.

The runtime matters as much as the architecture (the Benchmark page and the README measure by how much), and which
engine is fastest depends on the CPU, so the app measures it here (:mod:`mnv2_core.runtime.timings`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, TypeVar

import numpy as np

from mnv2_core import config
from mnv2_core.files import atomic_write
from mnv2_core.models.model_config import BF16_ENGINES, ENGINE_TITLES, ENGINES  # noqa: F401  (the names, here too)

if TYPE_CHECKING:  # torch loads lazily: pages that only need the names below stay fast to import
    import torch
    from torch import nn

T = TypeVar("T")
OPSET = 17
OUTPUTS = ("logits", "features")  # an exported model's outputs: the logits, and where asked the last feature map
EXPORT_VERSION = 1  # bump when export_onnx changes what it writes: cached files are keyed on it


class EngineError(ValueError):
    """An engine cannot run this model here; ``str()`` is one sentence for the UI."""


@dataclass
class Runner:
    """A ready-to-call model on one engine: ``runner(x)`` gives float logits as a torch tensor; a runner built on a
    model with two outputs (:class:`~mnv2_core.models.feature_map.WithFeatureMap`) also gives the last feature map,
    from the same pass (:meth:`with_features`)."""

    engine: str
    precision: str
    call: Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, ...]]
    size_bytes: int  # the deployed model's size on disk (state_dict for torch, the .onnx file for ONNX Runtime)
    detail: str = ""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.with_features(x)[0]

    def with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, last feature map), or (logits, None) where the model answers logits alone."""
        out = self.call(x)
        return (out[0], out[1] if len(out) > 1 else None) if isinstance(out, tuple) else (out, None)

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a batch: ONNX files are exported for batch 1 (TF-SAME pads as constants), so they run image by
        image; PyTorch takes the batch whole."""
        import torch

        if self.engine == "torch":
            return self(x)
        return torch.cat([self(x[i:i + 1]) for i in range(len(x))])


def state_sha(model: nn.Module, *, skip_prefix: str | None = None) -> str:
    """SHA-256 of a model's weights (optionally without one submodule), to key caches on what the model computes."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if skip_prefix is None or not name.startswith(skip_prefix):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _installed(package: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(package) is not None


def ort_available() -> bool:
    return _installed("onnxruntime")


def openvino_available() -> bool:
    return _installed("openvino")


def available_engines() -> tuple[str, ...]:
    """The engines installed here, in ENGINES order."""
    return tuple(e for e in ENGINES if e == "torch" or (ort_available() if e == "onnxruntime"
                                                         else openvino_available()))


# ------------------------------------------------------------------------------------------------------ export


_EXPORT_LOCK = threading.Lock()


def export_onnx(model: nn.Module, resolution: int, target: Path) -> Path:
    """Export ``model`` (eval mode, batch 1, static shapes) to ``target`` atomically; returns ``target``. A model
    with two outputs is exported with both, "logits" and "features"."""
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
    # torch's exporter keeps global state: two exports at once (two visitors loading models) make it fail.
    with _EXPORT_LOCK, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        out = model(x)
        outputs = OUTPUTS[:len(out)] if isinstance(out, tuple) else OUTPUTS[:1]
        torch.onnx.export(model, (x,), buffer, input_names=["input"], output_names=list(outputs),
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    atomic_write(target, lambda fh: fh.write(buffer.getvalue()))
    return target


def onnx_for(model: nn.Module, resolution: int, tag: str) -> Path:
    """The FP32 ONNX file of ``model`` in the cache, exported on first use (keyed by its weights)."""
    target = config.cache_dir() / "onnx" / f"{tag}_{resolution}px_v{EXPORT_VERSION}_{state_sha(model)[:12]}.onnx"
    return target if target.is_file() else export_onnx(model, resolution, target)


def with_feature_output(path: Path) -> Path:
    """A copy of an ONNX classifier (say a shipped INT8 file) that also outputs its last feature map, the input of
    its global average pool, as "features"; made once in the cache, the shipped file left as it is."""
    import onnx

    data = Path(path).read_bytes()
    target = config.cache_dir() / "onnx" / f"{Path(path).stem}_features_{hashlib.sha256(data).hexdigest()[:12]}.onnx"
    if target.is_file():
        return target
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # a truncated or foreign file: the shipped model is the user's to replace
        raise EngineError(f"{Path(path).name} is not a readable ONNX model ({type(exc).__name__}); replace it, or "
                          f"make it again with python -m mnv2_core quantize.") from exc
    pools = [n for n in model.graph.node if n.op_type == "GlobalAveragePool"]
    if len(pools) != 1:
        raise EngineError(f"{Path(path).name} has no single global average pool to take the feature map from.")
    feature_map = onnx.helper.make_tensor_value_info(pools[0].input[0], onnx.TensorProto.FLOAT, None)
    model.graph.output.append(feature_map)
    atomic_write(target, lambda fh: fh.write(model.SerializeToString()))
    return target


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
    # Spinning threads would keep both cores busy between calls and slow torch's own ops (the heat map, preprocessing)
    # that share this process.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a truncated or foreign file
        raise EngineError(f"ONNX Runtime could not load {Path(path).name} ({type(exc).__name__}).") from exc


def ort_runner(path: Path, precision: str, threads: int | None = None, detail: str = "") -> Runner:
    import torch

    session = ort_session(path, threads)
    name = session.get_inputs()[0].name

    def call(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        array = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return tuple(torch.from_numpy(out) for out in session.run(None, {name: array}))

    return Runner("onnxruntime", precision, call, Path(path).stat().st_size, detail)


@functools.cache
def openvino_core():
    import openvino

    return openvino.Core()


def openvino_compile(path: Path, precision: str, threads: int | None = None, extra: dict | None = None):
    """The one way this project compiles an ONNX file for OpenVINO's CPU plugin: at ``precision``'s inference
    precision (f32 asked for explicitly: on CPUs with AVX512-BF16 or AMX, OpenVINO would otherwise compute in
    bfloat16), one stream tuned for latency; ``extra``: more properties (say per-layer counters)."""
    if not openvino_available():
        raise EngineError("OpenVINO is not installed here (pip install openvino).")
    import torch

    properties = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                  "INFERENCE_NUM_THREADS": threads or torch.get_num_threads(), "PERFORMANCE_HINT": "LATENCY",
                  "NUM_STREAMS": 1, **(extra or {})}
    try:
        return openvino_core().compile_model(str(path), "CPU", properties)
    except Exception as exc:  # a truncated or foreign file, or an unsupported precision on this CPU
        raise EngineError(f"OpenVINO could not compile {Path(path).name} ({type(exc).__name__}).") from exc


def openvino_runner(path: Path, precision: str, threads: int | None = None, detail: str = "") -> Runner:
    """OpenVINO's CPU plugin on an ONNX file. One infer request, used under a lock: requests are not thread-safe,
    and the app's browser sessions share a cached model."""
    import torch

    compiled = openvino_compile(path, precision, threads)
    request, outputs, lock = compiled.create_infer_request(), compiled.outputs, threading.Lock()

    def call(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        array = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        with lock:
            result = request.infer({0: array})
            return tuple(torch.from_numpy(np.array(result[out])) for out in outputs)  # copies, inside the lock

    return Runner("openvino", precision, call, Path(path).stat().st_size, detail)


def torch_runner(model: nn.Module, precision: str, threads: int | None = None, detail: str = "") -> Runner:
    """Eager (or FX INT8) PyTorch, BF16 by autocast (convolutions and matrix products in bfloat16, outputs given
    back as float32); ``threads`` is torch's process-wide setting, not the runner's."""
    import torch

    from mnv2_core.runtime.int8_torch import model_size_bytes

    def call(x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
            out = model(x)
        if precision != "bf16":
            return out
        return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()

    return Runner("torch", precision, call, model_size_bytes(model), detail)


# ------------------------------------------------------------------------------------------ the one builder

# What each engine runs: a torch module ("torch"), or an ONNX file. A new engine is one entry here.
RUNNER_BUILDERS: dict[str, Callable[..., Runner]] = {"torch": torch_runner, "onnxruntime": ort_runner,
                                                     "openvino": openvino_runner}


def make_runner(engine: str, artifact: nn.Module | Path, precision: str, threads: int | None = None,
                detail: str = "") -> Runner:
    """The one way to build a :class:`Runner`: ``artifact`` is a torch module for "torch", an ONNX file otherwise."""
    try:
        build = RUNNER_BUILDERS[engine]
    except KeyError:
        raise EngineError(f"Unknown engine {engine!r}; choose one of {', '.join(ENGINES)}.") from None
    if precision == "bf16" and engine not in BF16_ENGINES:  # it would run FP32 and be timed as BF16
        raise EngineError(f"{ENGINE_TITLES[engine]} has no BF16 kernels for the CPU.")
    return build(artifact, precision, threads, detail)


def choose_fastest(candidates: Mapping[str, T], trial: Callable[[T], float]) -> tuple[str, dict[str, float]]:
    """The one timing-based chooser: the candidate with the lowest ``trial(candidate)`` (seconds, ms: any cost),
    and every candidate's cost."""
    costs = {name: trial(call) for name, call in candidates.items()}
    return min(costs, key=costs.__getitem__), costs
