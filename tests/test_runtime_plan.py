"""Resolving a configuration: BF16 is offered on CPUs with native bfloat16 and refused, in one sentence, elsewhere
and on engines without BF16 kernels; INT8 of every comparison model finds its shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnv2_core.measure import machine
from mnv2_core.models.model_config import ModelConfig
from mnv2_core.runtime.engines import EngineError
from mnv2_core.runtime.plan import plan


@pytest.fixture()
def cpu(monkeypatch: pytest.MonkeyPatch, cpuinfo_files: dict[str, Path]):
    """``cpu("zen1")`` or ``cpu("zen4")``: this process believes it runs on that CPU."""
    return lambda name: monkeypatch.setattr(machine, "_THIS_CPU", machine.read_cpu(cpuinfo_files[name]))


def test_bf16_on_a_cpu_without_native_bfloat16_is_refused_in_one_sentence(cpu) -> None:
    from mnv2_core.runtime.availability import precisions_here

    cpu("zen1")
    assert precisions_here() == ("fp32", "int8")
    with pytest.raises(EngineError, match="AVX512-BF16 or AMX") as refused:
        plan(ModelConfig("mobilenet_v2", 0.35, "bf16"))
    assert str(refused.value).count(".") == 1


def test_bf16_runs_on_pytorch_and_openvino_and_onnx_runtime_is_refused(cpu) -> None:
    from mnv2_core.runtime.availability import precisions_here

    cpu("zen4")
    assert precisions_here() == ("fp32", "bf16", "int8")
    assert set(plan(ModelConfig("mobilenet_v2", 0.35, "bf16")).candidates) == {"torch", "openvino"}
    with pytest.raises(EngineError, match="no BF16 kernels"):
        plan(ModelConfig("mobilenet_v2", 0.35, "bf16", engine="onnxruntime"))


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "efficientnet_b0", "lenet5"])
def test_int8_of_every_comparison_model_runs_its_shipped_file_on_the_onnx_engines(model: str) -> None:
    resolved = plan(ModelConfig(model, None, "int8"))
    assert resolved.int8_file is not None and resolved.int8_record is not None
    assert set(resolved.candidates) <= {"onnxruntime", "openvino"} and resolved.candidates
    assert resolved.int8_record.test.agreement > 0.9
