"""Engine timings per CPU: the automatic engine is the fastest measured on this CPU, never another's."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mnv2_core.measure.machine import read_cpu
from mnv2_core.runtime import timings
from mnv2_core.models.model_config import ModelConfig
from mnv2_core.runtime.predictor import Predictor


@pytest.fixture()
def two_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpuinfo_files: dict[str, Path]):
    monkeypatch.setattr(timings, "timings_dir", lambda: tmp_path / "engines")
    return tuple(read_cpu(cpuinfo_files[n], cores=2, engines=()) for n in ("zen1", "zen4"))


def _row(engine: str, ms: float, variant: str = "u8s8-rr") -> dict:
    return {"model": "mobilenet_v2", "width": 1.0, "precision": "int8", "engine": engine, "variant": variant,
            "median_ms": ms}


SHIPPED = {"onnxruntime": "u8s8-rr", "openvino": "u8s8-rr"}  # the engines and the INT8 file they would run


def test_a_record_made_on_one_cpu_does_not_speak_for_another(two_cpus) -> None:
    zen1, zen4 = two_cpus
    timings.save_timings([_row("onnxruntime", 5.0), _row("openvino", 9.0)], "test", zen1)
    assert timings.fastest_engine("mobilenet_v2", 1.0, "int8", SHIPPED, zen1) == "onnxruntime"
    assert timings.fastest_engine("mobilenet_v2", 1.0, "int8", SHIPPED, zen4) is None
    from mnv2_core.display.benchmark import timings_table

    assert timings.timings_record(zen4) == {} and timings_table(zen4) == []


def test_a_record_copied_under_another_cpu_s_name_is_ignored(two_cpus) -> None:
    zen1, zen4 = two_cpus
    path = timings.save_timings([_row("onnxruntime", 5.0)], "test", zen1)
    timings.timings_path(zen4).write_text(path.read_text())
    assert timings.measured_timings(zen4) == []


def test_no_choice_until_every_candidate_is_timed_then_the_fastest(two_cpus) -> None:
    zen1, _ = two_cpus
    timings.save_timings([_row("onnxruntime", 5.0)], "test", zen1)
    assert timings.fastest_engine("mobilenet_v2", 1.0, "int8", SHIPPED, zen1) is None
    timings.save_timings([_row("openvino", 3.0)], "test", zen1)  # merged: the first row stays
    assert timings.fastest_engine("mobilenet_v2", 1.0, "int8", SHIPPED, zen1) == "openvino"
    timings.save_timings([_row("openvino", 7.0)], "test", zen1)  # a new measurement replaces the old one
    assert timings.fastest_engine("mobilenet_v2", 1.0, "int8", SHIPPED, zen1) == "onnxruntime"
    assert len(timings.measured_timings(zen1)) == 2


def test_a_timing_of_another_int8_format_does_not_stand_for_the_shipped_one(two_cpus) -> None:
    zen1, _ = two_cpus
    timings.save_timings([_row("onnxruntime", 5.0, "u8u8"), _row("openvino", 9.0, "u8u8")], "bench", zen1)
    assert timings.fastest_engine("mobilenet_v2", 1.0, "int8", SHIPPED, zen1) is None
    timings.save_timings([_row("onnxruntime", 8.0), _row("openvino", 6.0)], "first use", zen1)
    assert timings.fastest_engine("mobilenet_v2", 1.0, "int8", SHIPPED, zen1) == "openvino"
    assert len(timings.measured_timings(zen1)) == 4


def test_measuring_picks_the_faster_call_and_records_both(two_cpus) -> None:
    zen1, _ = two_cpus
    best = timings.measure_engines("lenet5", None, "fp32", {"torch": lambda: time.sleep(0.01), "onnxruntime": lambda: None},
                                   seconds=0.2, cpu=zen1)
    rows = timings.measured_timings(zen1)
    assert best == "onnxruntime" and {r.engine for r in rows} == {"torch", "onnxruntime"}
    assert all(r.source == "measured at first use" for r in rows)
    assert json.loads(timings.timings_path(zen1).read_text())["cpu"]["key"] == zen1.key


def test_auto_measures_a_configuration_once_on_this_cpu_then_reuses_it(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timings, "timings_dir", lambda: tmp_path)  # nothing measured on this CPU yet
    first = Predictor(ModelConfig("lenet5", None, "fp32", "flowers"))
    again = Predictor(ModelConfig("lenet5", None, "fp32", "flowers"))
    assert first.measured_here and not again.measured_here and again.engine == first.engine
    measured = {r.engine for r in timings.measured_timings() if r.model == "lenet5" and r.precision == "fp32"}
    assert measured == set(first.plan.candidates)


def test_int8_without_a_shipped_file_has_only_pytorch_to_choose(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core.runtime import int8_files

    monkeypatch.setattr(int8_files, "INT8_DIR", tmp_path)  # every trained model ships one: none here
    predictor = Predictor(ModelConfig("lenet5", None, "int8", "flowers"))
    assert tuple(predictor.plan.candidates) == ("torch",) and predictor.engine == "torch"


def test_the_quick_sweep_times_the_configurations_classify_runs(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timings, "timings_dir", lambda: tmp_path)
    from mnv2_core.jobs.benchmark import quick_sweep

    measured = quick_sweep([0.35], ["int8"])  # the shipped INT8 file where one exists, else PyTorch INT8
    assert measured == ["MobileNetV2 0.35 INT8 (auto engine)"] and quick_sweep([0.35], ["int8"]) == []
    assert timings.is_measured("mobilenet_v2", 0.35, "int8") and not timings.is_measured("mobilenet_v2", 0.5, "int8")


def test_an_engine_that_cannot_run_here_is_left_out_of_the_choice(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core.runtime import engines

    def broken(*args, **kwargs):
        raise engines.EngineError("OpenVINO could not compile m.onnx (RuntimeError).")

    monkeypatch.setattr(timings, "timings_dir", lambda: tmp_path)
    monkeypatch.setitem(engines.RUNNER_BUILDERS, "openvino", broken)
    predictor = Predictor(ModelConfig("lenet5", None, "fp32", "flowers"))
    assert predictor.measured_here and predictor.engine in ("torch", "onnxruntime")
    assert {r.engine for r in timings.measured_timings()} == {"torch", "onnxruntime"}


def test_a_timing_at_one_resolution_does_not_choose_the_engine_at_another(tmp_path, monkeypatch) -> None:
    from mnv2_core.runtime import timings

    monkeypatch.setattr(timings, "timings_dir", lambda: tmp_path)
    timings.save_timings([{"model": "mobilenet_v2", "width": 1.0, "precision": "fp32", "engine": e, "variant": None,
                           "resolution": 128, "median_ms": ms} for e, ms in (("torch", 1.0), ("openvino", 2.0))],
                         "test")
    candidates = {"torch": None, "openvino": None}
    assert timings.fastest_engine("mobilenet_v2", 1.0, "fp32", candidates, resolution=128) == "torch"
    assert timings.fastest_engine("mobilenet_v2", 1.0, "fp32", candidates, resolution=224) is None
    assert timings.is_measured("mobilenet_v2", 1.0, "fp32", resolution=128)
    assert not timings.is_measured("mobilenet_v2", 1.0, "fp32", resolution=224)
    assert timings.fastest_row("mobilenet_v2", 1.0, "fp32", 128).engine == "torch"
