"""The CPU identity that keys every timing record: machines that all say "AMD EPYC" are told apart."""

from __future__ import annotations

from pathlib import Path

from mnv2_core.measure.machine import read_cpu, this_cpu

def test_two_epycs_that_share_a_name_get_different_keys(cpuinfo_files: dict[str, Path]) -> None:
    zen1, zen4 = (read_cpu(cpuinfo_files[n], cores=2, engines=()) for n in ("zen1", "zen4"))
    assert zen1.model_name == zen4.model_name == "AMD EPYC" and zen1.key != zen4.key
    assert zen1.key.startswith("amd-epyc-f23m1-2c-") and "AVX512-VNNI" in zen4.title


def test_the_isa_decides_vnni_and_bf16(cpuinfo_files: dict[str, Path]) -> None:
    zen1, zen4 = (read_cpu(cpuinfo_files[n], cores=2, engines=()) for n in ("zen1", "zen4"))
    assert (zen1.has_vnni, zen1.has_bf16, zen4.has_vnni, zen4.has_bf16) == (False, False, True, True)
    assert zen1.flags == ("avx2", "fma", "f16c")


def test_cores_and_engine_versions_are_part_of_the_identity(cpuinfo_files: dict[str, Path]) -> None:
    info = cpuinfo_files["zen1"]
    base = read_cpu(info, cores=2, engines=(("onnxruntime", "1.20"),))
    assert base.key != read_cpu(info, cores=4, engines=(("onnxruntime", "1.20"),)).key
    assert base.key != read_cpu(info, cores=2, engines=(("onnxruntime", "1.21"),)).key
    assert base.key == read_cpu(info, cores=2, engines=(("onnxruntime", "1.20"),)).key


def test_this_machine_has_an_identity_with_its_engine_versions() -> None:
    cpu = this_cpu()
    assert cpu.cores >= 1 and dict(cpu.engines)["torch"] and cpu.as_dict()["key"] == cpu.key
