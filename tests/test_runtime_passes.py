"""A pass over a whole split runs on the engine timed faster here, with the same outputs as PyTorch eager."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnv2_core.models import build_model
from mnv2_core.runtime.engines import ort_available
from mnv2_core.runtime.passes import MIN_IMAGES_FOR_EXPORT, pass_engine


def _small() -> nn.Module:
    torch.manual_seed(0)
    return build_model("mobilenet_v2", num_classes=10, width=0.35).eval()


@pytest.mark.skipif(not ort_available(), reason="needs onnxruntime (a dependency)")
def test_a_long_pass_times_both_engines_and_either_gives_the_eager_outputs() -> None:
    model = _small()
    engine = pass_engine(model, 96, images=MIN_IMAGES_FOR_EXPORT)
    assert set(engine.images_per_second) == {"torch", "onnxruntime"} and engine.engine in engine.images_per_second
    x = torch.randn(3, 3, 96, 96)
    with torch.inference_mode():
        torch.testing.assert_close(engine.batch(x), model(x), atol=1e-4, rtol=1e-4)
    assert model.features[0][0].weight.is_contiguous()  # the caller's model is left as it was (not channels-last)


def test_a_short_pass_stays_in_eager_pytorch() -> None:
    engine = pass_engine(_small(), 96, images=MIN_IMAGES_FOR_EXPORT - 1)
    assert engine.engine == "torch" and engine.images_per_second == {}


class _BranchFrozenByExport(nn.Module):
    """Python control flow on the data: the export traces the branch its example input (zeros) takes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if float(x.abs().sum()) > 0 else x * 3


class _OutsideTheGraph(nn.Module):
    """Leaves the graph through numpy: the exported graph does not even read its input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(x.numpy() * 2)


@pytest.mark.skipif(not ort_available(), reason="needs onnxruntime (a dependency)")
def test_a_network_the_export_gets_wrong_runs_in_eager_pytorch() -> None:
    engine = pass_engine(_BranchFrozenByExport(), 32, images=10_000)
    x = torch.ones(2, 3, 32, 32)
    assert engine.engine == "torch" and torch.equal(engine.batch(x), x * 2)
    assert engine.note == "ONNX Runtime's outputs differ from eager's" and engine.images_per_second


@pytest.mark.skipif(not ort_available(), reason="needs onnxruntime (a dependency)")
def test_a_network_onnx_runtime_cannot_run_runs_in_eager_pytorch() -> None:
    engine = pass_engine(_OutsideTheGraph(), 32, images=10_000)
    x = torch.ones(2, 3, 32, 32)
    assert engine.engine == "torch" and torch.equal(engine.batch(x), x * 2)
    assert engine.note.startswith("ONNX Runtime could not run it")


@pytest.mark.skipif(not ort_available(), reason="needs onnxruntime (a dependency)")
def test_the_engine_is_timed_and_exported_under_inference_mode_too() -> None:
    """Every pass over a split runs under torch.inference_mode; the export must still happen there."""
    with torch.inference_mode():
        engine = pass_engine(_small(), 96, images=MIN_IMAGES_FOR_EXPORT)
    assert engine.note == "" and set(engine.images_per_second) == {"torch", "onnxruntime"}
