"""The Predictor: top-k, footprint, latency, and what it says about its own accuracy."""

from __future__ import annotations

from pathlib import Path


from mnv2_core.images.decode import load_path
from mnv2_core.models import weights
from mnv2_core.models.model_config import ModelConfig
from mnv2_core.runtime import describe
from mnv2_core.runtime.predictor import Predictor, footprint

REPO = Path(__file__).resolve().parent.parent


def test_predictor_top_k_and_footprint(offline: Path, sample_flower: Path) -> None:
    predictor = Predictor(ModelConfig("lenet5", None, "fp32", "flowers"))
    result = predictor.predict(load_path(sample_flower).image, top_k=3)
    assert len(result.top) == 3 and all(1 <= p.class_id <= 102 for p in result.top)
    assert [p.prob for p in result.top] == sorted((p.prob for p in result.top), reverse=True)
    fp = footprint(predictor)
    # LeNet-5 on 3 x 32 x 32 with 102 classes. Params: C1 3*6*25+6, C3 6*16*25+16, C5 400*120+120, F6 120*84+84,
    # output 84*102+102. MACs: C1 28*28*6*75, C3 10*10*16*150, then the three linear layers' weights.
    assert fp.params == 456 + 2_416 + 48_120 + 10_164 + 8_670 == 69_826
    assert fp.macs == 352_800 + 240_000 + 48_000 + 10_080 + 8_568 == 659_448 and fp.size_bytes > fp.params * 4


def test_warm_latency_reports_the_timed_runs_after_warm_up(offline: Path) -> None:
    stats = Predictor(ModelConfig("lenet5", None, "fp32", "flowers")).warm_latency(runs=4, warmup=2)
    assert (stats.runs, stats.warmup) == (4, 2) and 0 < stats.median_ms <= stats.p90_ms


def test_a_checkpoint_right_on_under_half_the_test_photos_is_flagged(offline: Path) -> None:
    from mnv2_core.models import lenet5

    path = weights.checkpoint_path("lenet5", None)
    weights.save_checkpoint(path, lenet5(num_classes=102), {"test_top1": 0.476, "recipe": "scratch"})
    assert "only 48% of Oxford-102 test photos" in describe.accuracy_warning(Predictor(ModelConfig("lenet5", None)).info)
    weights.save_checkpoint(path, lenet5(num_classes=102), {"test_top1": 0.9})
    assert describe.accuracy_warning(Predictor(ModelConfig("lenet5", None)).info) is None


def test_untrained_weights_get_no_accuracy_warning_they_say_meaningless_instead(offline: Path) -> None:
    assert describe.accuracy_warning(Predictor(ModelConfig("lenet5", None)).info) is None


def test_every_engine_answers_its_heat_map_from_the_same_pass_and_int8_from_its_own(sample_flower: Path) -> None:
    import numpy as np

    from mnv2_core.runtime.engines import available_engines

    image = load_path(sample_flower).image
    fp32 = {e: Predictor(ModelConfig("mobilenet_v2", 1.0, "fp32", "flowers", engine=e)).predict(image)
            for e in available_engines()}
    for engine, result in fp32.items():
        assert result.heat.shape == (224, 224) and result.heat.max() == 1.0, engine
        np.testing.assert_allclose(result.heat, fp32["torch"].heat, atol=1e-3, err_msg=engine)
    int8 = Predictor(ModelConfig("mobilenet_v2", 1.0, "int8", "flowers", engine="onnxruntime")).predict(image)
    assert int8.top[0].index == fp32["torch"].top[0].index
    same_place = np.corrcoef(int8.heat.ravel(), fp32["torch"].heat.ravel())[0, 1]
    assert 0.9 < same_place < 1.0  # the INT8 model's own map: close to FP32's, not a copy of it
