"""Every page under Streamlit's AppTest: renders without exceptions and its controls work."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnv2_core.models import weights

TIMEOUT = 180
LIVE_TABLE = 1  # the Benchmark page's dataframes: the published flower figures, then a live run's (the comparison
# is a static table, so a projector shows every column without scrolling)
APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("MNV2_DOWNLOAD", "0")
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path_factory.getbasetemp() / "mnv2_cache"))


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, name: str, data: bytes, mime: str = "application/octet-stream") -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, mime))
    at.run()
    assert not at.exception, at.exception
    return at


def _blocking_warnings(at: AppTest) -> list[str]:
    """Warnings other than "not sure" (which depends on the photo, not on whether the model is trained)."""
    return [w.value for w in at.warning if "may not be one of the 102 flowers" not in w.value]


def _top5_titles(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "Top-5" in m.value]


def test_classify_upload_then_change_width_precision_and_classes(sample_flower: Path, flowers_dir: Path,
                                                              tflite_path: Path) -> None:
    at = _app()
    assert at.title[0].value == "Classify a flower"
    _upload(at, sample_flower.name, sample_flower.read_bytes())
    assert any("Top-5" in spec for spec in _top5_titles(at))
    labels = [m.label for m in at.metric]
    assert "Latency (this prediction)" in labels and "Size on disk" in labels
    # MobileNetV2 1.0 ships a flower checkpoint (assets/checkpoints): real predictions, no "untrained" warning.
    assert not _blocking_warnings(at)
    assert any("dandelion" in spec for spec in _top5_titles(at))
    params_before = next(m.value for m in at.metric if m.label == "Parameters")

    # Every width ships a trained flower model: each answers, with its own size.
    assert all(weights.checkpoint_path("mobilenet_v2", w).is_file() for w in (0.35, 0.5, 0.75, 1.4))
    at.select_slider(key="width").set_value(0.5).run()
    assert not at.exception, at.exception
    assert any("Top-5" in spec for spec in _top5_titles(at)) and not _blocking_warnings(at)
    assert next(m.value for m in at.metric if m.label == "Parameters") != params_before

    at.button_group(key="precision").set_value("int8").run()
    assert not at.exception, at.exception
    assert any("Top-5" in spec for spec in _top5_titles(at))

    at.button_group(key="precision").set_value("fp32")
    at.select_slider(key="width").set_value(1.0)
    at.button_group(key="classes").set_value("imagenet").run()
    assert not at.exception, at.exception
    assert any("daisy" in spec for spec in _top5_titles(at))
    assert not _blocking_warnings(at)


def test_a_model_without_trained_weights_is_listed_but_does_not_answer(sample_flower: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core import config

    # Every model ships a flower checkpoint: take ResNet50's away, as on a clone where it was never trained.
    shipped = tmp_path / "checkpoints"
    shipped.mkdir()
    for path in config.CHECKPOINT_DIR.glob("*.pt"):
        if not path.name.startswith("resnet50"):
            (shipped / path.name).symlink_to(path)
    monkeypatch.setattr(config, "CHECKPOINT_DIR", shipped)
    at = _upload(_app(), sample_flower.name, sample_flower.read_bytes())
    assert "ResNet50 (not trained)" in at.selectbox(key="model").options
    at.selectbox(key="model").set_value("resnet50").run()
    assert not at.exception, at.exception
    assert any("no Oxford-102 checkpoint" in w.value and "does not answer" in w.value for w in at.warning)
    assert any("python -m mnv2_core train" in c.value and "resnet50" in c.value for c in at.code)
    assert not any("Top-5" in spec for spec in _top5_titles(at))  # no meaningless answer
    # The photo is still there: back on a trained model, it is classified.
    at.selectbox(key="model").set_value("mobilenet_v2").run()
    assert any("Top-5" in spec for spec in _top5_titles(at)) and not _blocking_warnings(at)


def test_imagenet_classes_at_a_width_without_imagenet_weights_say_why(sample_flower: Path) -> None:
    at = _upload(_app(), sample_flower.name, sample_flower.read_bytes())
    at.select_slider(key="width").set_value(0.5)
    at.button_group(key="classes").set_value("imagenet").run()
    assert not at.exception, at.exception
    assert any("timm publishes them (timm/mobilenetv2_050.lamb_in1k)" in w.value for w in at.warning)
    at.select_slider(key="width").set_value(0.75).run()
    assert any("width 1.0 only, and timm for 0.5, 1.0 and 1.4" in w.value for w in at.warning)
    assert not any("Top-5" in spec for spec in _top5_titles(at))


@pytest.mark.parametrize("name,data", [("empty.jpg", b""), ("notes.png", b"hello, not an image"),
                                       ("report.heic", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n")])
def test_classify_bad_upload_is_one_sentence(name: str, data: bytes) -> None:
    at = _upload(_app(), name, data)
    assert len(at.error) == 1 and "Traceback" not in at.error[0].value
    assert not _top5_titles(at)


def test_benchmark_runs_a_small_model() -> None:
    at = _app("pages/benchmark.py")
    at.multiselect(key="bench_models").set_value(["lenet5", "mobilenet_v2"])
    at.multiselect(key="bench_widths").set_value([0.35])
    at.multiselect(key="bench_precisions").set_value(["fp32"])
    at.multiselect(key="bench_engines").set_value(["torch"])
    at.slider(key="bench_runs").set_value(5)
    at.button[0].click().run()
    assert not at.exception, at.exception
    frame = at.dataframe[LIVE_TABLE].value
    # ONNX Runtime FP32 is timed beside each model as the reference of the ratio column
    assert list(zip(frame["model"], frame["engine"])) == [("lenet5", "torch"), ("lenet5", "onnxruntime"),
                                                           ("mobilenet_v2", "torch"), ("mobilenet_v2", "onnxruntime")]
    assert list(frame["x_ort_fp32"])[1::2] == [1.0, 1.0] and (frame["x_ort_fp32"] > 0).all()
    assert frame["macs_m"].iloc[2] == pytest.approx(59.3, rel=0.005) and (frame["median_ms"] > 0).all()
    # the comparison's two charts, then latency bars, ImageNet accuracy, flower accuracy (the shipped LeNet-5 run),
    # the recorded engine timings
    assert len(at.get("plotly_chart")) == 2 + 4
    assert frame["flowers_training"].iloc[0] == "from scratch" and frame["flowers_top1"].iloc[0] > 30
    # BF16 and INT8 beside FP32, a row per model, in full (no scrolling); each INT8 file's details below
    precisions = at.dataframe[LIVE_TABLE + 1].value
    assert list(precisions["model"])[:2] == ["MobileNetV2 0.35", "MobileNetV2 0.5"] and len(precisions) == 10
    assert (precisions["INT8 agreement"] > 0.9).all() and (precisions["BF16 agreement"] > 0.9).all()
    int8 = at.dataframe[LIVE_TABLE + 2].value
    assert int8["top-1 agreement"].iloc[0] > 0.9 and "256 training photos" in int8["calibration"].iloc[0]


def test_benchmark_on_a_cpu_not_measured_yet_times_the_comparison_on_open_and_shows_its_engines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core.jobs import comparison
    from mnv2_core.jobs.comparison import comparison_rows, untimed
    from mnv2_core.runtime import timings

    monkeypatch.setattr(timings, "timings_dir", lambda: tmp_path)  # a CPU this project has not measured
    monkeypatch.setattr(comparison, "SWEEP_TRIAL_SECONDS", 0.05)
    assert untimed(comparison_rows())
    at = _app("pages/benchmark.py")
    assert not untimed(comparison_rows()), "opening the page times every trained model here"
    assert not any("No engine timings" in i.value for i in at.info)
    assert any(b.label.startswith("Quick sweep") for b in at.button)
    assert len(at.get("plotly_chart")) == 2 + 1  # the comparison's charts, then this CPU's engines


def test_benchmark_opens_on_the_comparison_of_every_architecture_without_pressing_anything() -> None:
    from mnv2_core.models import REGISTRY

    at = _app("pages/benchmark.py")
    table = at.table[0].value
    titles = list(table["Model"])
    for spec in REGISTRY.values():
        assert any(t.startswith(spec.title) for t in titles), spec.title
    assert "MobileNetV2 1.0 (from scratch)" in titles
    assert [t for t in titles if t.startswith("MobileNetV2 ")][:5] == [
        "MobileNetV2 0.35", "MobileNetV2 0.5", "MobileNetV2 0.75", "MobileNetV2 1.0", "MobileNetV2 1.4"]
    mnv2 = table[table["Model"] == "MobileNetV2 1.0"].iloc[0]
    assert mnv2["Test %"] > 90 and mnv2["FP32 ms"] > 0 and mnv2["Params M"] == pytest.approx(2.35, abs=0.01)
    assert mnv2["% per M params"] == pytest.approx(mnv2["Test %"] / mnv2["Params M"])
    assert mnv2["ImageNet %"] == pytest.approx(71.878)
    specs = [chart.proto.spec for chart in at.get("plotly_chart")[:2]]
    assert "Accuracy against latency" in specs[0] and "Accuracy against params" in specs[1]
    published = at.dataframe[0].value
    assert "EfficientNet" in " ".join(published["Source"])


def test_architecture_page() -> None:
    at = _app("pages/architecture.py")
    stage = at.dataframe[0].value
    assert list(stage["operator"])[:2] == ["conv2d 3x3", "bottleneck"] and list(stage["c"])[1:8] == [16, 24, 32, 64,
                                                                                                    96, 160, 320]
    cost = next(d.value for d in at.dataframe if "standard_params" in d.value.columns).iloc[0]
    assert cost["standard_params"] == 73_728 and cost["separable_params"] == 8_768
    at.select_slider(key="arch_width").set_value(0.35).run()
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "Parameters") == "1.68 M"


def test_architecture_page_draws_this_cpus_roofline_with_every_layer_of_the_chosen_model() -> None:
    at = _app("pages/architecture.py")
    at.selectbox(key="roofline_model").set_value("resnet18").run()
    assert not at.exception, at.exception
    peaks = next(d.value for d in at.dataframe if "ridge point (MACs per byte)" in d.value.columns)
    assert list(peaks["precision"])[:1] == ["FP32"] and (peaks["peak GMAC/s (matrix multiply)"] > 0).all()
    kinds = next(d.value for d in at.dataframe if "of the roofline" in d.value.columns)
    assert {"pointwise (1x1)", "full convolution", "fully connected"} <= set(kinds["layers"])
    assert "INT8" in set(kinds["precision"])  # ResNet18's shipped INT8 file
    charts = [c for c in at.get("plotly_chart") if c.proto.id and "roofline" in str(c.proto.id)]
    assert len(charts) == 2
    assert any("This CPU multiplies at" in m.value for m in at.markdown)


@pytest.mark.parametrize("flags", ["zen4", "zen1"])
def test_classify_offers_bf16_only_on_a_cpu_with_native_bfloat16(flags: str, sample_flower: Path,
                                                                 cpuinfo_files: dict[str, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core.measure import machine

    monkeypatch.setattr(machine, "_THIS_CPU", machine.read_cpu(cpuinfo_files[flags]))
    at = _app()
    options = list(at.button_group(key="precision").options)
    if flags == "zen1":
        assert options == ["FP32", "INT8"]
        assert any("AVX512-BF16 or AMX" in c.value for c in at.caption)
        return
    assert options == ["FP32", "BF16", "INT8"]
    _upload(at, sample_flower.name, sample_flower.read_bytes())
    at.select_slider(key="width").set_value(0.35)
    at.button_group(key="precision").set_value("bf16").run()
    assert not at.exception, at.exception
    assert any("MobileNetV2 0.35 BF16" in spec for spec in _top5_titles(at)) and not _blocking_warnings(at)


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "efficientnet_b0", "lenet5"])
def test_classify_precision_toggle_runs_int8_for_every_comparison_model(model: str, sample_flower: Path) -> None:
    at = _app()
    _upload(at, sample_flower.name, sample_flower.read_bytes())
    at.selectbox(key="model").set_value(model)
    at.button_group(key="precision").set_value("int8").run()
    assert not at.exception, at.exception
    assert any("INT8" in spec for spec in _top5_titles(at)) and not _blocking_warnings(at)
    assert any("gives FP32's answer on" in c.value for c in at.caption)


def test_training_page_without_runs_says_how() -> None:
    at = _app("pages/training.py")
    assert at.title[0].value == "Training on Oxford-102"
    assert at.info or at.dataframe


def test_classify_accepts_an_iphone_heic_sent_as_octet_stream(sample_flower: Path) -> None:
    import io

    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.open(sample_flower).save(buffer, format="HEIF", quality=80)
    at = _upload(_app(), "IMG_0001.HEIC", buffer.getvalue(), "application/octet-stream")
    assert not at.error and any("Top-5" in spec for spec in _top5_titles(at))
    captions = [i.caption for image in at.get("image") for i in image.proto.imgs]
    assert any(c.startswith("HEIF, 313x256") for c in captions), captions


def test_training_page_shows_the_shipped_run() -> None:
    at = _app("pages/training.py")
    assert not at.exception, at.exception
    family = at.dataframe[0].value
    assert list(family["width"]) == [0.35, 0.5, 0.75, 1.0, 1.4]
    one = family.loc[family["width"] == 1.0].iloc[0]
    assert one["test_top1"] > 0.9 and one["phone_top1"] > 0.5 and one["params"] > 2e6
    routes = at.dataframe[1].value  # every MobileNetV2 checkpoint by the route that made it
    assert set(routes["width"]) == {0.35, 0.5, 0.75, 1.0, 1.4} and routes["shipped"].sum() == 5
    table = at.dataframe[2].value
    assert {"mobilenet_v2", "lenet5"} <= set(table["model"]) and table["test_top1"].max() > 0.85
    assert set(table["training"]) >= {"from scratch"} and (table["params"] > 0).any()
    # family steps, comparison scatter, learning curves, per-class; family, routes, comparison, "not sure" and
    # confused-pairs tables
    assert len(at.get("plotly_chart")) >= 3 and len(at.dataframe) == 5
    not_sure = at.dataframe[3].value
    assert "MobileNetV2 1.0" in set(not_sure["title"]) and (not_sure["non_flowers_flagged"] > 0).all()


@pytest.mark.slow
def test_training_page_starts_phase_1_in_the_background_and_shows_its_outcome(
        flowers_dir: Path, tflite_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _tiny_copy) -> None:
    import time

    from mnv2_core.jobs import training

    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch_hub"))  # no cached ImageNet weights
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    data, out = _tiny_copy(flowers_dir, tmp_path / "data"), tmp_path / "out"
    start = training.start_transfer
    monkeypatch.setattr(training, "start_transfer", lambda *a, **kw: start(*a, **kw, out=out, data=data))
    at = _app("pages/training.py")
    picker = at.selectbox(key="transfer_model")
    tflite = "MobileNetV2 1.0 (official TFLite ImageNet, imported)"
    assert picker.options == ["MobileNetV2 0.35 (Keras ImageNet backbone, imported)", tflite]  # the ImageNet ones here
    picker.set_value(tflite).run()
    assert any("No ImageNet weights here" in e.label for e in at.expander)
    at.slider(key="transfer_epochs").set_value(5)
    at.button(key="transfer_start").click().run()
    assert not at.exception, at.exception
    assert at.button(key="transfer_start").disabled  # one training run at a time on this machine
    assert at.get("progress"), "the run's progress shows while it goes"
    assert any("--head-epochs 5" in c.value for c in at.caption)
    deadline = time.monotonic() + 300
    while (job := training.job_status()) is not None and job.running:
        assert time.monotonic() < deadline, f"the run did not finish; its log:\n{job.log_tail(40)}"
        time.sleep(0.5)
    at.run()
    assert not at.exception, at.exception
    assert at.success and at.success[0].value.startswith("Test top-1 ") and "shipped to" in at.success[0].value
    assert not at.button(key="transfer_start").disabled
    assert (out / "checkpoints" / "mobilenet_v2_1.0_flowers102.pt").is_file()


def test_training_page_without_data_says_so_and_offers_no_start(tflite_path: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNV2_DATA", str(tmp_path / "nowhere"))
    at = _app("pages/training.py")
    assert at.button(key="transfer_start").disabled
    assert any("no Oxford-102 photos at" in i.value and "MNV2_DATA" in i.value for i in at.info)


def test_teach_page_learns_three_oxford_classes_and_answers_a_new_photo(flowers_dir: Path) -> None:
    at = _app("pages/teach.py")
    assert at.title[0].value == "Teach it your own classes"
    at.button(key="teach_train").click().run()  # 'Your photos', none uploaded yet
    assert at.error and "has 0 photos" in at.error[0].value  # one sentence
    at.segmented_control(key="teach_mode").set_value("Oxford-102 classes").run()
    at.button(key="teach_train").click().run()
    assert not at.exception, at.exception
    assert at.success and "Held-out check" in at.success[0].value
    photo = sorted((flowers_dir / "test" / "54").glob("*.jpg"))[0]
    at.file_uploader(key="teach_try").set_value((photo.name, photo.read_bytes(), "image/jpeg")).run()
    assert not at.exception, at.exception
    assert at.markdown and any(m.value == "### sunflower" for m in at.markdown)


def test_the_server_sends_no_usage_statistics_and_takes_uploads_sized_for_phone_photos() -> None:
    import tomllib

    settings = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert settings["browser"]["gatherUsageStats"] is False and settings["server"]["maxUploadSize"] == 25


def test_classify_examples_strip_answers_with_one_click(flowers_dir: Path) -> None:
    at = _app()
    at.segmented_control(key="source").set_value("Examples").run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button if (b.key or "").startswith("example_")][:2] == ["common dandelion", "sunflower"]
    at.button(key="example_54").click().run()
    assert not at.exception, at.exception
    assert any("Top-5" in spec for spec in _top5_titles(at)) and any("sunflower" in s for s in _top5_titles(at))
