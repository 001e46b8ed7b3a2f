"""A frozen network over a whole split, on the engine measured faster on this CPU for it.

Phase 1 and the test-split scores only run the network forward, so they need not run in PyTorch eager. On the CPUs
this project has seen, ONNX Runtime ran MobileNetV2 three to four times faster than eager PyTorch, but that depends
on the CPU and the network, so each pass first times both on a few images and keeps the faster. Short passes stay
in PyTorch: exporting costs more than it saves.
"""

from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from mnv2_core.images.augment import ImageBank
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.over_split import Batch, over_bank, over_files

MIN_IMAGES_FOR_EXPORT = 200  # below this, the export (seconds) costs more than a faster engine saves
TRIAL_IMAGES = 8


@dataclass
class PassEngine:
    """How a pass runs: ``batch(x)`` for a batch of prepared images, the engine's name, and the rates timed here."""

    batch: Batch
    engine: str
    images_per_second: dict[str, float] = field(default_factory=dict)
    note: str = ""  # why ONNX Runtime was not used, when it was not for a reason other than speed


def _torch_batch(module: nn.Module, device: torch.device, *, channels_last: bool = False) -> Batch:
    module = module.to(device).eval()
    if channels_last:  # eager convolutions run faster channels-last on CPUs; a copy keeps the caller's as is
        module = copy.deepcopy(module).to(memory_format=torch.channels_last)

    def batch(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(x.to(device, memory_format=torch.channels_last) if channels_last else x.to(device))

    return batch


def _ort_batch(module: nn.Module, resolution: int, folder: Path) -> Batch:
    from mnv2_core.runtime.engines import export_onnx, make_runner

    return make_runner("onnxruntime", export_onnx(module, resolution, folder / "pass.onnx"), "fp32",
                       torch.get_num_threads()).batch


def _best_seconds(call: Callable[[], object], repeats: int = 2) -> float:
    """The best of ``repeats`` timed calls after a warm-up call (first-call allocations and kernel choices)."""
    call()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def pass_engine(module: nn.Module, resolution: int, *, images: int,
                device: torch.device | str = "cpu") -> PassEngine:
    """The faster of PyTorch eager and ONNX Runtime for ``module`` on this CPU, timed on a few random images; ONNX
    Runtime only where its outputs there match eager's (an export can silently freeze data-dependent code)."""
    from mnv2_core.runtime.engines import choose_fastest, ort_available

    device = torch.device(device)
    if device.type != "cpu" or images < MIN_IMAGES_FOR_EXPORT or not ort_available():
        return PassEngine(_torch_batch(module, device), "torch")  # as the model is: no copy, no export
    eager = _torch_batch(module, device, channels_last=True)
    x = torch.randn(TRIAL_IMAGES, 3, resolution, resolution)
    try:
        # Callers run under inference mode; the exporter's tracing needs ordinary tensors.
        with torch.inference_mode(False), tempfile.TemporaryDirectory(prefix="mnv2_pass_") as folder:
            ort = _ort_batch(module, resolution, Path(folder))  # the session keeps the graph in memory
        expected, got = eager(x).float(), ort(x).float()
        fastest, seconds = choose_fastest({"torch": lambda: eager(x), "onnxruntime": lambda: ort(x)}, _best_seconds)
    except Exception as exc:  # a network the exporter or ONNX Runtime cannot take: eager still works
        return PassEngine(eager, "torch", note=f"ONNX Runtime could not run it ({type(exc).__name__})")
    rates = {engine: round(len(x) / s, 1) for engine, s in seconds.items()}
    if not torch.allclose(got, expected, rtol=1e-3, atol=1e-3 * float(expected.abs().max()) + 1e-6):
        return PassEngine(eager, "torch", rates, note="ONNX Runtime's outputs differ from eager's")
    return PassEngine({"torch": eager, "onnxruntime": ort}[fastest], fastest, rates)


def bank_logits(model: nn.Module, bank: ImageBank, preprocess: Preprocess, device: torch.device,
                batch_size: int = 128, *, fastest: bool = False) -> torch.Tensor:
    """Logits of ``model`` on every view of ``bank`` with the test recipe (resize, centre crop); always float32.

    ``fastest``: on the engine timed faster here, for a finished model's test scores. Validation during training
    stays in eager PyTorch: one engine for every epoch keeps a resumed run's numbers equal to an uninterrupted one's,
    and an export per epoch would cost more than it saves."""
    model.eval()
    engine = pass_engine(model, preprocess.resolution, images=len(bank) if fastest else 0, device=device)
    return over_bank(engine.batch, bank, preprocess, device, batch_size)


def model_outputs(module: nn.Module, samples: list[tuple[Path, int]], preprocess: Preprocess, *,
                  batch_size: int = 32, desc: str = "test",
                  device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, str]:
    """``module`` over every sample, prepared from its file as the app prepares an upload, on the engine measured
    faster here for it. Returns the outputs, the labels and the engine."""
    module.eval()
    engine = pass_engine(module, preprocess.resolution, images=len(samples), device=device)
    out, labels = over_files({"out": engine.batch}, samples, preprocess, batch_size=batch_size, desc=desc)
    return out["out"], labels, engine.engine


def split_logits(model: nn.Module, samples: list[tuple[Path, int]], preprocess: Preprocess, *,
                 batch_size: int = 32, desc: str = "test", device: torch.device | str = "cpu") -> torch.Tensor:
    """Logits of the whole model on ``samples``, straight from the image files (evaluation's one pass)."""
    return model_outputs(model, samples, preprocess, batch_size=batch_size, desc=desc, device=device)[0]
